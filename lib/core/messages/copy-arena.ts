// Small copies carved from blocks of their own: one allocation per block instead of per copy.
const BLOCK_SIZE = 16 * 1024;
// Larger copies get memory of their own: a block then holds at least four copies.
const MAX_CARVED = BLOCK_SIZE / 4;

/**
 * Memory for the copies `Msg.detach()` makes of queued messages, one arena per queue. A copy of
 * its own per message (`allocUnsafeSlow`) costs a fresh ArrayBuffer each; Node's shared Buffer
 * pool would be cheap but lets any small Buffer of the process pin the slab a queued message
 * sits in. Here a block holds only copies of one queue, made in queue order, so while the queue
 * is read in order the memory it pins stays within its queued bytes plus one block.
 */
export class CopyArena {
  private block: Buffer | undefined;
  private used = 0;

  /** `size` bytes of memory owned by this arena (or by the copy alone, when large). */
  alloc(size: number): Buffer {
    if (size > MAX_CARVED) return Buffer.allocUnsafeSlow(size);
    if (this.block === undefined || this.used + size > BLOCK_SIZE) {
      this.block = Buffer.allocUnsafeSlow(BLOCK_SIZE);
      this.used = 0;
    }
    const copy = this.block.subarray(this.used, this.used + size);
    this.used += size;
    return copy;
  }
}
