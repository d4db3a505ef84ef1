// Which live instance processes which partition: rendezvous (highest random weight) hashing with
// a bound on the load. Every instance computes it from the same member list and gets the same
// answer without talking to the others; a member joining or leaving moves only the partitions
// that must move. Partitions are placed in order, each on the highest-scoring member that has
// fewer than ceil(partitions / members) of them, so no instance gets more than its share.

/** FNV-1a, 32 bits: the same score in every process (no per-process seed). */
function score(member: string, partition: number): number {
  let h = 0x811c9dc5;
  const s = `${member}/${partition}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Mix the low bits into the high ones: close inputs give close FNV values.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  return (h ^ (h >>> 12)) >>> 0;
}

/** The partitions (0 to `partitions` - 1) of each member; every partition has exactly one. */
export function assignPartitions(partitions: number, members: string[]): Map<string, number[]> {
  const live = [...new Set(members)].sort();
  const out = new Map<string, number[]>(live.map((m) => [m, []]));
  if (live.length === 0) return out;
  const cap = Math.ceil(partitions / live.length);
  for (let p = 0; p < partitions; p++) {
    const ranked = live
      .map((m) => ({ m, s: score(m, p) }))
      .sort((a, b) => b.s - a.s || (a.m < b.m ? -1 : 1));
    const owner = ranked.find(({ m }) => out.get(m)!.length < cap)!.m;
    out.get(owner)!.push(p);
  }
  return out;
}
