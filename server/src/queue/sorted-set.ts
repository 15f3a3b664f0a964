/**
 * An in-memory sorted set with the ordering of a Redis ZSET: by score, then by member.
 *
 * Members live in a sorted array so rank and lookups are binary searches (O(log n)); inserts
 * and removals shift the array (one memmove), which stays cheap at queue sizes. A map from
 * member to score lets a member be found without knowing its score.
 */

interface Entry {
  score: number;
  member: string;
}

function compareEntries(a: Entry, b: Entry): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  if (a.member === b.member) return 0;
  return a.member < b.member ? -1 : 1;
}

export class SortedSet {
  readonly #entries: Entry[] = [];
  readonly #scores = new Map<string, number>();

  get size(): number {
    return this.#entries.length;
  }

  has(member: string): boolean {
    return this.#scores.has(member);
  }

  score(member: string): number | undefined {
    return this.#scores.get(member);
  }

  /** Adds the member, or moves it to the new score when it is already there. */
  add(member: string, score: number): void {
    if (this.#scores.has(member)) this.remove(member);
    const entry = { score, member };
    this.#entries.splice(this.#lowerBound(entry), 0, entry);
    this.#scores.set(member, score);
  }

  remove(member: string): boolean {
    const rank = this.rank(member);
    if (rank === null) return false;
    this.#entries.splice(rank, 1);
    this.#scores.delete(member);
    return true;
  }

  /** 0-based index of the member in ascending order, or null when absent. */
  rank(member: string): number | null {
    const score = this.#scores.get(member);
    if (score === undefined) return null;
    return this.#lowerBound({ score, member });
  }

  first(): Entry | undefined {
    const head = this.#entries[0];
    return head ? { ...head } : undefined;
  }

  /** Members with score <= maxScore, lowest first, at most `limit` of them. */
  rangeUpTo(maxScore: number, limit: number): string[] {
    const members: string[] = [];
    for (const entry of this.#entries) {
      if (entry.score > maxScore || members.length >= limit) break;
      members.push(entry.member);
    }
    return members;
  }

  members(): string[] {
    return this.#entries.map((entry) => entry.member);
  }

  /** First index whose entry is not below `target`. */
  #lowerBound(target: Entry): number {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const entry = this.#entries[mid] as Entry;
      if (compareEntries(entry, target) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
