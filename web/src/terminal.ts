// The terminal panel: xterm.js over the WebSocket terminal (`/ws/terminal/{id}`).

import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import { Api } from "./api";

export class TerminalPanel {
  private term: Terminal;
  private fit = new FitAddon();
  private socket: WebSocket;
  private resizeObserver: ResizeObserver;

  constructor(api: Api, computerId: string, container: HTMLElement, onStatus: (text: string) => void) {
    container.replaceChildren();
    this.term = new Terminal({ cursorBlink: true, fontSize: 13, convertEol: false, scrollback: 5000 });
    this.term.loadAddon(this.fit);
    this.term.open(container);
    this.fit.fit();
    this.socket = api.socket(`/ws/terminal/${computerId}?cols=${this.term.cols}&rows=${this.term.rows}`);
    onStatus("connecting");
    this.socket.onopen = () => {
      onStatus("connected");
      this.term.focus();
    };
    this.socket.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const message = JSON.parse(event.data) as { type: string; data?: string; code?: number };
      if (message.type === "stdout" || message.type === "stderr") this.term.write(message.data ?? "");
      else if (message.type === "exit") this.term.write(`\r\n[exited with code ${message.code}]\r\n`);
    };
    this.socket.onclose = () => onStatus("closed");
    this.term.onData((data) => this.sendJson({ type: "stdin", data }));
    this.term.onResize(({ cols, rows }) => this.sendJson({ type: "resize", cols, rows }));
    this.resizeObserver = new ResizeObserver(() => this.fit.fit());
    this.resizeObserver.observe(container);
  }

  private sendJson(message: unknown): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  close(): void {
    this.resizeObserver.disconnect();
    this.socket.close();
    this.term.dispose();
  }
}
