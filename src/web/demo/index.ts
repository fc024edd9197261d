/** The /demo/ back-office client (the demo institution's `backOffice` application), wired by the app. */
export { registerDemoClient } from './demo-client.ts';
