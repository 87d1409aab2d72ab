/** Values up to this size share slabs; larger ones get their own ArrayBuffer (its overhead is then < 5%). */
export const MAX_SLAB_VALUE_BYTES = 2048;
/**
 * Slab size: the unused tail of a slab is below MAX_SLAB_VALUE_BYTES, i.e. < 6% of 32 KiB (with 8 KiB
 * slabs, as Node's Buffer pool uses, a 1,056-byte item — 1 KiB plus an owner — wastes 10%); the cost
 * is that one long-lived value can keep up to 32 KiB alive.
 */
const SLAB_BYTES = 32 * 1024;

/** Where a value's bytes live: at `offset` in `slab` (a view shared by every value in that slab). */
export interface ValueLocation {
  readonly slab: Uint8Array;
  readonly offset: number;
}

/**
 * A bump allocator for small values. A typed-array view costs ~110 bytes of heap per value, about a
 * tenth of a 1 KiB item, so entries keep (slab, offset, length) and views are made only when a value
 * is read. Slabs are never reused in place: the garbage collector frees a slab once no entry refers
 * to it, the same lifetime rule as Node's Buffer pool (values of one slab were written close in time
 * and usually expire together).
 */
export class ValueSlabs {
  private slab = new Uint8Array(SLAB_BYTES);
  private used = 0;

  /**
   * Copies `value`, then `suffix` right after it, into a slab (or their own buffer when large) and
   * says where they went.
   */
  copy(value: Uint8Array, suffix?: Uint8Array): ValueLocation {
    const length = value.length + (suffix?.length ?? 0);
    if (length > MAX_SLAB_VALUE_BYTES) {
      const own = new Uint8Array(length);
      write(own, 0, value, suffix);
      return { slab: own, offset: 0 };
    }
    if (this.used + length > SLAB_BYTES) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const offset = this.used;
    write(this.slab, offset, value, suffix);
    // Keep offsets 8-byte aligned, as Node's pool does.
    this.used = (offset + length + 7) & ~7;
    return { slab: this.slab, offset };
  }
}

function write(slab: Uint8Array, offset: number, value: Uint8Array, suffix: Uint8Array | undefined): void {
  slab.set(value, offset);
  if (suffix !== undefined) slab.set(suffix, offset + value.length);
}
