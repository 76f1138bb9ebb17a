// Adaptive quality: watches each attached remote <video> (its rendered size,
// whether it is in the viewport, whether the page is visible) and asks the
// server for the layer it needs: the smallest covering layer when shown, a
// paused consumer when hidden. The choice itself is layerChoice.ts.
import { chooseLayer, topWidthFromDecoded, type ElementView, type LayerTarget } from './layerChoice.ts';
import { LAYER_SCALES } from './simulcast.ts';

/** What adaptive quality may ask of the client (the subscriber's own choices). */
export type LayerControl = {
	setPreferredLayers(consumerId: string, spatialLayer: number): Promise<void>;
	pauseConsumer(consumerId: string): Promise<void>;
	resumeConsumer(consumerId: string): Promise<void>;
};

/** Before a frame says otherwise, the publisher is taken to capture what the library asks for. */
const NOMINAL_TOP = { width: 1280, height: 720 };
/** Resizes come in bursts (layout, animations): act once they settle. */
const SETTLE_MS = 150;

type Watched = {
	consumerId: string;
	element: HTMLVideoElement;
	spatialLayers: number;
	box: { width: number; height: number };
	intersecting: boolean;
	currentLayer: number | undefined;
	topWidth: number;
	/** What was last asked for, so unchanged targets send nothing. */
	applied: LayerTarget | undefined;
	timer: ReturnType<typeof setTimeout> | undefined;
};

export class AdaptiveQuality {
	readonly #control: LayerControl;
	readonly #watched = new Map<string, Watched>();
	readonly #byElement = new Map<Element, Watched>();
	readonly #resize: ResizeObserver;
	readonly #intersection: IntersectionObserver;
	readonly #onVisibility = () => {
		for (const w of this.#watched.values()) this.#schedule(w);
	};

	constructor(control: LayerControl) {
		this.#control = control;
		this.#resize = new ResizeObserver((entries) => {
			for (const entry of entries) {
				const w = this.#byElement.get(entry.target);
				if (!w) continue;
				w.box = { width: entry.contentRect.width, height: entry.contentRect.height };
				this.#schedule(w);
			}
		});
		this.#intersection = new IntersectionObserver((entries) => {
			for (const entry of entries) {
				const w = this.#byElement.get(entry.target);
				if (!w) continue;
				w.intersecting = entry.isIntersecting;
				this.#schedule(w);
			}
		});
		document.addEventListener('visibilitychange', this.#onVisibility);
	}

	/** Starts adapting `consumerId` to `element`; `spatialLayers` from the consumer's parameters. */
	attach(consumerId: string, element: HTMLVideoElement, spatialLayers: number): void {
		this.detach(consumerId);
		const w: Watched = {
			consumerId,
			element,
			spatialLayers,
			box: { width: element.clientWidth, height: element.clientHeight },
			intersecting: false,
			currentLayer: undefined,
			topWidth: NOMINAL_TOP.width,
			applied: undefined,
			timer: undefined,
		};
		this.#watched.set(consumerId, w);
		this.#byElement.set(element, w);
		this.#resize.observe(element);
		this.#intersection.observe(element);
		element.addEventListener('resize', this.#onVideoResize);
	}

	detach(consumerId: string): void {
		const w = this.#watched.get(consumerId);
		if (!w) return;
		clearTimeout(w.timer);
		this.#watched.delete(consumerId);
		this.#byElement.delete(w.element);
		this.#resize.unobserve(w.element);
		this.#intersection.unobserve(w.element);
		w.element.removeEventListener('resize', this.#onVideoResize);
	}

	/** The server switched the layer this consumer receives (consumerLayersChanged). */
	noteCurrentLayer(consumerId: string, spatialLayer: number | undefined): void {
		const w = this.#watched.get(consumerId);
		if (w) w.currentLayer = spatialLayer;
	}

	close(): void {
		for (const consumerId of [...this.#watched.keys()]) this.detach(consumerId);
		this.#resize.disconnect();
		this.#intersection.disconnect();
		document.removeEventListener('visibilitychange', this.#onVisibility);
	}

	// A new frame size tells the publisher's real top width (it may capture less than 1280).
	readonly #onVideoResize = (event: Event) => {
		const w = this.#byElement.get(event.target as Element);
		if (!w) return;
		const top = topWidthFromDecoded(w.element.videoWidth, w.currentLayer, w.spatialLayers, LAYER_SCALES);
		// Only ever upwards: a frame from before a layer switch must not shrink the estimate.
		if (top !== undefined && top > w.topWidth) {
			w.topWidth = top;
			this.#schedule(w);
		}
	};

	#schedule(w: Watched): void {
		clearTimeout(w.timer);
		w.timer = setTimeout(() => void this.#apply(w), SETTLE_MS);
	}

	async #apply(w: Watched): Promise<void> {
		if (this.#watched.get(w.consumerId) !== w) return;
		const { element } = w;
		const view: ElementView = {
			visible: w.intersecting && document.visibilityState !== 'hidden',
			boxWidth: w.box.width,
			boxHeight: w.box.height,
			devicePixelRatio: window.devicePixelRatio || 1,
			cover: getComputedStyle(element).objectFit === 'cover',
		};
		const aspect = element.videoWidth > 0 && element.videoHeight > 0 ? element.videoWidth / element.videoHeight : NOMINAL_TOP.width / NOMINAL_TOP.height;
		const target = chooseLayer(view, { spatialLayers: w.spatialLayers, topWidth: w.topWidth, aspect, scales: LAYER_SCALES });
		const before = w.applied;
		w.applied = target;
		try {
			if (target.paused) {
				if (!before?.paused) await this.#control.pauseConsumer(w.consumerId);
				return;
			}
			if (before?.paused !== false || before.spatialLayer !== target.spatialLayer) {
				await this.#control.setPreferredLayers(w.consumerId, target.spatialLayer);
			}
			if (before?.paused) await this.#control.resumeConsumer(w.consumerId);
		} catch {
			// The consumer closed meanwhile, or the connection did: ask again on the next change.
			w.applied = undefined;
		}
	}
}
