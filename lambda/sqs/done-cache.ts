import lruCacheModule from 'mnemonist/lru-cache.js';

/**
 * messageIds (with their payload fingerprint) this container saw DONE, so a warm duplicate costs no request.
 * mnemonist's LRU because the AWS SDK's endpoint cache already ships it: the consumer bundle pays nothing for it.
 */
export type DoneCache = Pick<LruCache<string, true>, 'has' | 'set'>;

type LruCache<K, V> = InstanceType<typeof lruCacheModule.default<K, V>>;

// mnemonist is CommonJS (module.exports = LRUCache) typed as an ES default export: at run time the default import
// is the class itself.
const LRUCache = lruCacheModule as unknown as typeof lruCacheModule.default;

export function createDoneCache(capacity: number): DoneCache {
  return new LRUCache<string, true>(capacity);
}
