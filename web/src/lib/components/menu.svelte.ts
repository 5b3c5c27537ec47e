/**
 * The WAI-ARIA menu button pattern, once for every menu of the app (MenuButton, UserMenu):
 * Enter/Space/ArrowDown open the menu on its first item, ArrowUp on its last; arrows, Home and
 * End move between items; Escape closes it and returns focus to the button; a pointer down
 * outside `inside()` closes it. Components bind `button` and `menu` and wire the handlers.
 */
import { tick } from "svelte";

export class MenuControl {
  open = $state(false);
  button = $state<HTMLButtonElement>();
  menu = $state<HTMLElement>();
  /** Elements a pointer may press without closing the menu (default: the menu and its button). */
  readonly #inside: () => (HTMLElement | undefined)[];

  constructor(inside?: () => (HTMLElement | undefined)[]) {
    this.#inside = inside ?? (() => [this.menu, this.button]);
  }

  /** Menu items (menuitem, menuitemradio, menuitemcheckbox) in order. */
  items(): HTMLElement[] {
    return this.menu ? Array.from(this.menu.querySelectorAll<HTMLElement>('[role^="menuitem"]')) : [];
  }

  async show(focus: "first" | "last"): Promise<void> {
    this.open = true;
    await tick();
    const list = this.items();
    (focus === "first" ? list[0] : list[list.length - 1])?.focus();
  }

  close(returnFocus: boolean): void {
    if (!this.open) return;
    this.open = false;
    if (returnFocus) this.button?.focus();
  }

  toggle = (): void => {
    if (this.open) this.close(false);
    else void this.show("first");
  };

  onButtonKeydown = (event: KeyboardEvent): void => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      void this.show(event.key === "ArrowDown" ? "first" : "last");
    }
  };

  /** Arrows, Home and End between the items; Escape closes (focus back on the button). */
  onMenuKeydown = (event: KeyboardEvent): void => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close(true);
      return;
    }
    const list = this.items();
    const index = list.indexOf(document.activeElement as HTMLElement);
    const next =
      event.key === "ArrowDown" ? list[(index + 1) % list.length]
      : event.key === "ArrowUp" ? list[(index - 1 + list.length) % list.length]
      : event.key === "Home" ? list[0]
      : event.key === "End" ? list[list.length - 1]
      : null;
    if (next === null) return;
    event.preventDefault();
    next?.focus();
  };

  onWindowPointerdown = (event: PointerEvent): void => {
    if (!this.open) return;
    const target = event.target;
    if (target instanceof Node && this.#inside().some((el) => el?.contains(target))) return;
    this.close(false);
  };
}
