// What every studio view is built from. A view's markup is a constant in its own file
// (never user data: names, messages and keys only ever go in with textContent).

/** A mounted view. */
export interface View {
  /** Its root element. */
  el: HTMLElement;
  /** Removes its listeners, subscriptions and timers. */
  destroy(): void;
}

/** The element a view's static markup describes. */
export function fromMarkup<T extends HTMLElement = HTMLElement>(html: string): T {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  const el = t.content.firstElementChild;
  if (!el) throw new Error("empty markup");
  return el as T;
}

/** The element matching `sel` inside `root`; throws when the markup lacks it. */
export function part<T extends Element = HTMLElement>(root: ParentNode, sel: string): T {
  const el = root.querySelector<T>(sel);
  if (!el) throw new Error(`missing ${sel}`);
  return el;
}

/** Runs `f` with `button` disabled and marked busy. */
export async function busy<T>(button: HTMLButtonElement, f: () => Promise<T>): Promise<T | undefined> {
  button.disabled = true;
  button.classList.add("busy");
  try {
    return await f();
  } finally {
    button.disabled = false;
    button.classList.remove("busy");
  }
}
