/**
 * Named slots for onnxruntime-web tensors that live from one run to the next.
 *
 * Cached decoding feeds each layer's past keys and values back into the next run: run N returns
 * `present.3.key`, run N + 1 takes it as `past_key_values.3.key`. The old tensor is then garbage,
 * but for a tensor held on the GPU (location "gpu-buffer") the garbage collector never frees the
 * buffer: only `tensor.dispose()` does. Forgetting it leaks GPU memory on every decoding step.
 *
 * So each slot owns its tensor: `replace(name, tensor)` disposes the tensor it replaces, `delete`
 * and `clear` dispose what they remove, and `take` hands a tensor over without disposing it. A
 * tensor may live in one slot only (otherwise disposing one slot would empty the other).
 */

import type { Tensor } from "onnxruntime-web";

export class TensorSlots {
  private readonly slots = new Map<string, Tensor>();

  /** Number of filled slots. */
  get size(): number {
    return this.slots.size;
  }

  /** Names of the filled slots, in the order they were first filled. */
  get names(): string[] {
    return [...this.slots.keys()];
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  /** The tensor in slot `name`, or undefined when the slot is empty. */
  get(name: string): Tensor | undefined {
    return this.slots.get(name);
  }

  /** The tensor in slot `name`; throws when the slot is empty. */
  require(name: string): Tensor {
    const tensor = this.slots.get(name);
    if (!tensor) {
      throw new RangeError(
        `TensorSlots: slot "${name}" is empty; filled slots are ${this.names.join(", ") || "none"}`,
      );
    }
    return tensor;
  }

  /** Puts `tensor` in slot `name` and disposes the tensor that was there (unless it is the same one). */
  replace(name: string, tensor: Tensor): void {
    for (const [otherName, other] of this.slots) {
      if (other === tensor && otherName !== name) {
        throw new RangeError(
          `TensorSlots.replace: this tensor already lives in slot "${otherName}"; a tensor may live in one slot ` +
            `only (disposing one would empty the other): take it out of "${otherName}" first`,
        );
      }
    }
    const previous = this.slots.get(name);
    this.slots.set(name, tensor);
    if (previous && previous !== tensor) previous.dispose();
  }

  /** Removes slot `name` WITHOUT disposing its tensor: the caller now owns it. */
  take(name: string): Tensor | undefined {
    const tensor = this.slots.get(name);
    this.slots.delete(name);
    return tensor;
  }

  /** Removes slot `name` and disposes its tensor; returns whether the slot was filled. */
  delete(name: string): boolean {
    const tensor = this.slots.get(name);
    if (!tensor) return false;
    this.slots.delete(name);
    tensor.dispose();
    return true;
  }

  /** Disposes every tensor and empties every slot. */
  clear(): void {
    const tensors = [...this.slots.values()];
    this.slots.clear();
    for (const tensor of tensors) tensor.dispose();
  }

  /** The slots as a plain record, for passing as (part of) the feeds of a run. */
  toRecord(): Record<string, Tensor> {
    return Object.fromEntries(this.slots);
  }
}
