/** A mounted page of the player; the router destroys it on navigation. */
export interface Page {
  /** Root element, placed under the header. */
  el: HTMLElement;
  /** Stops timers, sockets and video. */
  destroy(): void;
}
