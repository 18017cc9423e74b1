// The in-memory index of a message store: entries by sequence (holes for deleted messages), the
// first and last sequence, totals, and the last sequence per subject; seeks by sequence and time.

export interface IndexEntry {
  seq: number
  /** Epoch milliseconds. */
  ts: number
  subject: string
  /** msgSize() of the message. */
  size: number
}

export class MsgIndex<E extends IndexEntry> {
  /** entries[i] holds sequence base + i; undefined when deleted. */
  #entries: (E | undefined)[] = []
  #base = 1
  #first = 1
  #last = 0
  #msgs = 0
  #bytes = 0
  #lastTs = 0
  readonly #lastBySubject = new Map<string, number>()

  get firstSeq(): number {
    return this.#msgs === 0 ? this.#last + 1 : this.#first
  }
  get lastSeq(): number {
    return this.#last
  }
  get msgs(): number {
    return this.#msgs
  }
  get bytes(): number {
    return this.#bytes
  }
  get lastTs(): number {
    return this.#lastTs
  }
  get firstTs(): number {
    return this.#msgs === 0 ? 0 : (this.entry(this.#first)?.ts ?? 0)
  }
  get numDeleted(): number {
    return this.#msgs === 0 ? 0 : this.#last - this.#first + 1 - this.#msgs
  }

  entry(seq: number): E | undefined {
    return this.#entries[seq - this.#base]
  }

  /** Adds a newly appended message (its sequence is last + 1, its ts never below lastTs). */
  insert(e: E): void {
    this.#place(e)
    this.#lastTs = e.ts
    this.#lastBySubject.set(e.subject, e.seq)
  }

  /** Adds a message found by recovery; gaps (corrupt records) simply stay holes. See endRecovery. */
  load(e: E): void {
    this.#place(e)
    this.#lastTs = Math.max(this.#lastTs, e.ts)
  }

  #place(e: E): void {
    if (this.#msgs === 0) {
      this.#entries = []
      this.#base = e.seq
      this.#first = e.seq
    }
    this.#entries[e.seq - this.#base] = e
    this.#last = e.seq
    this.#msgs++
    this.#bytes += e.size
  }

  /** Moves the last sequence up to `seq` (purges past the end, recovered purge marks). */
  raiseLast(seq: number): void {
    this.#last = Math.max(this.#last, seq)
  }

  /** Removes `e` and finds the new last sequence of its subject; call advanceFirst() after. */
  remove(e: E): void {
    this.unload(e)
    if (this.#lastBySubject.get(e.subject) === e.seq) {
      this.#lastBySubject.delete(e.subject)
      for (let s = e.seq - 1; s >= this.#first; s--) {
        const p = this.entry(s)
        if (p !== undefined && p.subject === e.subject) {
          this.#lastBySubject.set(e.subject, s)
          break
        }
      }
    }
  }

  /** Removes `e` without touching the per-subject map (recovery rebuilds it in endRecovery). */
  unload(e: E): void {
    this.#entries[e.seq - this.#base] = undefined
    this.#msgs--
    this.#bytes -= e.size
  }

  /** Steps the first sequence over holes and compacts the entry array once most of it is gone. */
  advanceFirst(): void {
    if (this.#msgs === 0) {
      this.#entries = []
      this.#base = this.#last + 1
      this.#first = this.#last + 1
    } else {
      while (this.#first <= this.#last && this.entry(this.#first) === undefined) this.#first++
      const drop = this.#first - this.#base
      if (drop > 1024 && drop * 2 > this.#entries.length) {
        this.#entries = this.#entries.slice(drop)
        this.#base = this.#first
      }
    }
  }

  /** After recovery's loads and unloads: rebuilds the per-subject map, then advanceFirst(). */
  endRecovery(): void {
    this.#first = this.#msgs === 0 ? this.#last + 1 : this.#first
    this.#lastBySubject.clear()
    for (let s = this.#first; s <= this.#last; s++) {
      const e = this.entry(s)
      if (e !== undefined) this.#lastBySubject.set(e.subject, s)
    }
    this.advanceFirst()
  }

  /** First live sequence >= from whose subject passes `match` (all when undefined); 0 when none. */
  nextSeq(from: number, match?: (subject: string) => boolean): number {
    for (let s = Math.max(from, this.#first); s <= this.#last; s++) {
      const e = this.entry(s)
      if (e !== undefined && (match === undefined || match(e.subject))) return s
    }
    return 0
  }

  /** Count of live messages in [from, last] matching `match`. */
  countFrom(from: number, match?: (subject: string) => boolean): number {
    if (match === undefined && from <= this.#first) return this.#msgs
    let n = 0
    for (let s = Math.max(from, this.#first); s <= this.#last; s++) {
      const e = this.entry(s)
      if (e !== undefined && (match === undefined || match(e.subject))) n++
    }
    return n
  }

  /** First live sequence whose timestamp is >= ts (binary search); 0 when none. */
  seqAtTime(ts: number): number {
    let lo = this.#first
    let hi = this.#last
    let ans = 0
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2)
      let s = mid
      while (s <= hi && this.entry(s) === undefined) s++
      if (s > hi) {
        hi = mid - 1
        continue
      }
      if ((this.entry(s) as E).ts >= ts) {
        ans = s
        hi = mid - 1
      } else lo = s + 1
    }
    return ans
  }

  /** Last sequence stored for an exact subject, or for a filter via `match`; 0 when none. */
  lastSeqFor(subject: string, match?: (subject: string) => boolean): number {
    if (match === undefined) return this.#lastBySubject.get(subject) ?? 0
    for (let s = this.#last; s >= this.#first; s--) {
      const e = this.entry(s)
      if (e !== undefined && match(e.subject)) return s
    }
    return 0
  }

  /** Live sequences whose subject passes `match`, ascending. */
  seqsMatching(match: (subject: string) => boolean): number[] {
    const out: number[] = []
    for (let s = this.#first; s <= this.#last; s++) {
      const e = this.entry(s)
      if (e !== undefined && match(e.subject)) out.push(s)
    }
    return out
  }

  /** Per-subject message counts. */
  subjectCounts(match?: (subject: string) => boolean): Record<string, number> {
    const out: Record<string, number> = {}
    for (let s = this.#first; s <= this.#last; s++) {
      const e = this.entry(s)
      if (e !== undefined && (match === undefined || match(e.subject))) out[e.subject] = (out[e.subject] ?? 0) + 1
    }
    return out
  }
}
