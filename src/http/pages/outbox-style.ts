/**
 * The dev outbox panel's styles, inlined only with the console SMS provider
 * (like the panel and outbox-script.ts), each allowed by its sha256 hash.
 * The message line has fixed room so loading a message moves nothing.
 */
export const OUTBOX_STYLE = `
.outbox { margin-top: 1rem; padding: 1rem; border: 2px dashed var(--line); border-radius: 12px; }
.outbox h2 { font-size: 1rem; margin: 0 0 .25rem; }
.outbox-message { min-height: 2.9em; margin: .5rem 0 .25rem; font-size: 1.0625rem; overflow-wrap: anywhere; }
.outbox-meta { min-height: 1.45em; margin: 0; font-size: .875rem; color: var(--muted); }
`;
