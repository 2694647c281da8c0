export function greet(name: string): string {
  if (name.length === 0) {
    return "Hello, world!";
  }
  return `Hello, ${name}!`;
}
