// comlink's ESM build ships no types of its own under module: nodenext; these re-use the package's.
declare module 'comlink/dist/esm/comlink.mjs' {
  export { expose, wrap, releaseProxy, transfer, type Remote, type Endpoint } from 'comlink';
}
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(nep: unknown): Endpoint;
}
