const cache = new Map<string, number>();
function lookup(key: string): number {
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const value = key.length * 2;
  cache.set(key, value);
  return value;
}
