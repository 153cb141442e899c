// Words for counts in messages: "1 entity", "2 entities", never "1 entities".
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
