import type { Migration } from 'kysely/migration';
import * as m001 from './001-foundation.ts';
import * as m002 from './002-identity.ts';
import * as m003 from './003-oauth.ts';
import * as m004 from './004-developers.ts';
import * as m005 from './005-gateway.ts';
import * as m006 from './006-banking.ts';
import * as m007 from './007-enumerated-columns.ts';
import * as m008 from './008-requests-and-abuse.ts';
import * as m009 from './009-instances-and-quotas.ts';
import * as m010 from './010-auth-hardening.ts';
import * as m011 from './011-sandbox.ts';

/**
 * Every migration, in order. Names are stable forever once released; add new ones at the end
 * (e.g. `007-…`) rather than editing a released migration.
 */
export const migrations: Record<string, Migration> = {
  '001-foundation': m001,
  '002-identity': m002,
  '003-oauth': m003,
  '004-developers': m004,
  '005-gateway': m005,
  '006-banking': m006,
  '007-enumerated-columns': m007,
  '008-requests-and-abuse': m008,
  '009-instances-and-quotas': m009,
  '010-auth-hardening': m010,
  '011-sandbox': m011,
};
