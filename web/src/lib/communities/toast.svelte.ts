/** Short notices for things that happen without the user asking (removed from a community). */
export interface Toast {
  id: number;
  key: string;
  values?: Record<string, string | number>;
  tone: "info" | "danger";
}

class Toasts {
  list = $state<Toast[]>([]);
  #next = 1;

  show(key: string, values?: Toast["values"], tone: Toast["tone"] = "info", ms = 6000): void {
    const id = this.#next++;
    this.list = [...this.list, { id, key, values, tone }];
    setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    this.list = this.list.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
