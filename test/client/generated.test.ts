import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { API_NAMES } from '@strongroom/client';
import { apiDocuments, staleSdkFiles } from '../../scripts/generate-sdk.ts';
import { cli } from './helpers.ts';

describe("the SDK's generated types", () => {
  it('match the API documents (regenerated and compared: run `npm run sdk:generate` when this fails)', async () => {
    assert.deepEqual(await staleSdkFiles(), []);
  });

  it('cover every API the server registers, from one list of documents', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'strongroom-apis-'));
    try {
      const result = await cli(['apis', 'list', '--json', '--data-dir', dataDir], {});
      assert.equal(result.code, 0, result.stderr);
      const registered = (JSON.parse(result.stdout) as { name: string }[]).map((api) => api.name).sort();
      assert.deepEqual(
        apiDocuments()
          .map((d) => d.name)
          .sort(),
        registered,
      );
      assert.deepEqual([...API_NAMES].sort(), registered);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
