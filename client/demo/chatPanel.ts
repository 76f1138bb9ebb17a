// The demo's chat panel: a log, an input and an error line, over a
// ChatChannel (data channels through the server, never the signalling socket).
import { ChatError, type ChatChannel, type ChatMessage } from '../chat.ts';

export type ChatPanelElements = {
	panel: HTMLElement;
	log: HTMLUListElement;
	form: HTMLFormElement;
	input: HTMLInputElement;
	error: HTMLElement;
	toggle: HTMLButtonElement;
	unread: HTMLElement;
};

export class ChatPanel {
	readonly #ui: ChatPanelElements;
	readonly #nameOf: (peerId: string) => string;
	#channel: ChatChannel | undefined;
	#unread = 0;

	constructor(ui: ChatPanelElements, nameOf: (peerId: string) => string) {
		this.#ui = ui;
		this.#nameOf = nameOf;
		ui.toggle.addEventListener('click', () => this.setOpen(ui.panel.hidden === true));
		ui.form.addEventListener('submit', (event) => {
			event.preventDefault();
			this.#send();
		});
	}

	/** Messages from now on go to and come from this channel. */
	connect(channel: ChatChannel): void {
		this.#channel = channel;
		channel.on('message', (message) => this.#show(message, false));
	}

	setOpen(open: boolean): void {
		this.#ui.panel.hidden = !open;
		this.#ui.toggle.setAttribute('aria-pressed', String(open));
		if (open) {
			this.#unread = 0;
			this.#ui.unread.textContent = '';
			this.#ui.input.focus();
		}
	}

	#send(): void {
		const text = this.#ui.input.value;
		if (!this.#channel) return this.#fail('chat is not connected yet');
		try {
			const sent = this.#channel.send(text);
			this.#ui.input.value = '';
			this.#ui.error.textContent = '';
			this.#show(sent, true);
		} catch (error) {
			this.#fail(error instanceof ChatError ? error.message : String(error), error instanceof ChatError ? error.code : undefined);
		}
	}

	#fail(message: string, code?: string): void {
		this.#ui.error.textContent = message;
		if (code) this.#ui.error.dataset.code = code;
		else delete this.#ui.error.dataset.code;
	}

	#show(message: ChatMessage, mine: boolean): void {
		const item = document.createElement('li');
		item.classList.toggle('mine', mine);
		item.dataset.peerId = message.peerId;
		item.dataset.seq = String(message.seq);
		const from = document.createElement('span');
		from.className = 'from';
		from.textContent = mine ? 'you' : this.#nameOf(message.peerId);
		const text = document.createElement('span');
		text.className = 'text';
		text.textContent = message.text;
		item.append(from, text);
		this.#ui.log.append(item);
		item.scrollIntoView({ block: 'end' });
		if (!mine && this.#ui.panel.hidden) this.#ui.unread.textContent = String(++this.#unread);
	}
}
