// The smallest real Onceflow consumer, bundled by the cold-start bench exactly as ExactlyOnceConsumer bundles one.
import { exactlyOnce } from 'onceflow';

export const handler = exactlyOnce(async (message, ctx) => {
  ctx.tx.put({ TableName: 'effects', Item: { id: message.messageId, payload: message.payload } });
});
