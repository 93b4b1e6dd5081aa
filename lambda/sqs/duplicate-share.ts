/**
 * The share of cold duplicates above which reading a batch's DONE records before claiming costs less than it saves.
 * The read costs half a read unit per message ($0.125 per million RRU: $0.0625 per million messages read); each cold
 * duplicate it finds saves the refused claim, one write unit ($0.625 per million WRU). $0.0625 / $0.625 = 10%.
 */
export const READ_BREAK_EVEN_DUPLICATE_SHARE = 0.1;

/**
 * The same break-even in optimistic mode, where a cold duplicate the read did not see cancels its batch's grouped
 * transaction, and AWS charges every item of it: at least the DONE record of each message, 2 WRU, so 20 WRU ($12.50
 * per million) for a batch of 10, 200 times the read's $0.0625 per million messages. 1 / 200 = 0.5%.
 */
export const OPTIMISTIC_READ_BREAK_EVEN_DUPLICATE_SHARE = 0.005;

/**
 * Where a fresh optimistic-mode container starts: reading, as if one of its last 50 deliveries had been a cold
 * duplicate. Its first cold duplicate would otherwise cancel a whole batch's transaction; a stream without any turns
 * the read off after about 70 deliveries (seven batches of ten).
 */
export const OPTIMISTIC_INITIAL_DUPLICATE_SHARE = 1 / 50;

/**
 * How many of the latest deliveries the estimate mostly reflects (each weighs 1/50): about five batches of ten. One
 * batch of ten duplicates turns the read on for the next three batches; a stream of 30% turns it on after three
 * batches, and keeps it on.
 */
export const DUPLICATE_SHARE_MEMORY_DELIVERIES = 50;

/**
 * The share of cold duplicates among the deliveries a processor recently read, claimed or committed: an
 * exponentially weighted average, one per container (it lives as long as the processor). A cold duplicate is a
 * messageId already DONE that this container did not know: found by the batch read, or refused by its claim (lease
 * mode) or its commit (optimistic mode).
 * Duplicates answered from the container's DONE cache cost nothing and are not observed, nor are copies within a
 * batch. Both ways of meeting a duplicate feed the one estimate, so the read neither sticks on (with it, the read
 * sees the duplicates) nor off (without it, the refused claims do). A fresh container starts at 0, reading nothing:
 * most queues carry well under 1% duplicates, and a stream with many turns the read on within a few batches.
 *
 * @example
 * const share = new DuplicateShare();
 * for (let i = 0; i < 20; i++) share.observe(true);
 * share.favoursRead(); // true
 */
export class DuplicateShare {
  private share: number;

  /**
   * @param breakEven the share above which the read pays: `READ_BREAK_EVEN_DUPLICATE_SHARE` in lease mode.
   * @param initialShare where a fresh container starts: 0, reading nothing, unless a missed duplicate costs far
   *   more than the reads (optimistic mode starts as if one of its last 50 deliveries had been a duplicate).
   */
  constructor(
    private readonly breakEven = READ_BREAK_EVEN_DUPLICATE_SHARE,
    initialShare = 0,
  ) {
    this.share = initialShare;
  }

  /** One delivery read or claimed: whether its messageId turned out DONE already. */
  observe(duplicate: boolean): void {
    this.share += ((duplicate ? 1 : 0) - this.share) / DUPLICATE_SHARE_MEMORY_DELIVERIES;
  }

  /** The current estimate, between 0 and 1. */
  get value(): number {
    return this.share;
  }

  /** Whether reading the next batch before claiming is expected to cost less than the refused claims it saves. */
  favoursRead(): boolean {
    return this.share > this.breakEven;
  }
}
