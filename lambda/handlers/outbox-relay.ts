import { outboxRelayHandler } from 'onceflow';

/** The outbox relay, driven by the outbox table's stream; shipped prebuilt in the package (dist/assets). */
export const handler = outboxRelayHandler();
