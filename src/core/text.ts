// Words for counts in messages: "1 entity", "2 entities", never "1 entities".
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A copy of `text` that does not keep a longer string alive. V8 makes a substring of 13
 *  characters or more as a view into the string it was cut from: one kept for long (a
 *  changed record's key) would keep all of that string with it. */
export function detached(text: string): string {
  return ` ${text}`.slice(1);
}
