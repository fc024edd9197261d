/**
 * The authorization server's load generator for `npm run bench` (its own process, on the load CPU):
 * `refresh` runs refresh grants on `lanes` refresh tokens in parallel (each lane uses the token its last
 * refresh returned); `signIn` runs whole password sign-ins (authorize → login form → consent → code
 * exchange). Prints `ready` when the setup is done and the measured part starts, then one JSON line.
 * The CA comes from NODE_EXTRA_CA_CERTS.
 */
import { performance } from 'node:perf_hooks';
import { authorizationCodeFlow, refresh } from '../test/helpers/oauth-flow.ts';

interface Options {
  mode: 'refresh' | 'signIn';
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  username: string;
  password: string;
  scope: string;
  lanes: number;
  seconds: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const flow = () => authorizationCodeFlow({ ...options });

let done = 0;
let errors = 0;
let firstError: string | undefined;
const fail = (error: unknown) => {
  errors++;
  firstError ??= (error as Error).message;
};

const lanes: (() => Promise<void>)[] = [];
if (options.mode === 'refresh') {
  for (let lane = 0; lane < options.lanes; lane++) {
    let token = (await flow()).refresh_token;
    if (!token) throw new Error('the token response has no refresh token');
    lanes.push(async () => {
      const tokens = await refresh({ ...options, refreshToken: token as string });
      token = tokens.refresh_token ?? token;
    });
  }
} else {
  for (let lane = 0; lane < options.lanes; lane++) lanes.push(async () => void (await flow()));
}

console.log('ready');
const started = performance.now();
const until = started + options.seconds * 1000;
await Promise.all(
  lanes.map(async (step) => {
    while (performance.now() < until) {
      try {
        await step();
        done++;
      } catch (error) {
        fail(error);
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ done, errors, firstError, seconds }));
process.exit(0);
