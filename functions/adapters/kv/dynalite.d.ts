// dynalite 4 documents its options in JSDoc but ships no declaration file; this covers the part
// we call. Options as in node_modules/dynalite/index.js.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when unset. */
    path?: string;
    /** How long a table stays CREATING / DELETING / UPDATING (default 500 ms each). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    verbose?: boolean;
    debug?: boolean;
  }

  /** Creates an HTTP server speaking the DynamoDB JSON protocol; call `listen` to start it. */
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}
