// Scaled dot-product attention for one query, written out step by step.
// Select a few lines and run "Attention Lens: Show Attention" to see what the model attends to.

function softmax(scores: number[]): number[] {
  const largest = Math.max(...scores);
  const exponentials = scores.map((score) => Math.exp(score - largest));
  const total = exponentials.reduce((sum, value) => sum + value, 0);
  return exponentials.map((value) => value / total);
}

export function attend(query: number[], keys: number[][], values: number[][]): number[] {
  const scale = 1 / Math.sqrt(query.length);
  const scores = keys.map((key) => key.reduce((sum, k, i) => sum + k * query[i], 0) * scale);
  const weights = softmax(scores);
  return values[0].map((_, column) => weights.reduce((sum, weight, row) => sum + weight * values[row][column], 0));
}
