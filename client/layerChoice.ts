// Adaptive quality policy: which layer a video element needs, from what the
// page shows. Pure, so it is unit-tested without a DOM; adaptiveQuality.ts
// gathers the observations and sends the requests.

/** What the page shows of one remote video. */
export type ElementView = {
	/** In the viewport, in a visible document, with a non-empty box. */
	visible: boolean;
	/** The element's content box in CSS pixels. */
	boxWidth: number;
	boxHeight: number;
	devicePixelRatio: number;
	/** `object-fit: cover` fills the box (crops); anything else letterboxes (contain). */
	cover: boolean;
};

/** What is known of the stream the element plays. */
export type StreamView = {
	/** Number of spatial layers the consumer has (1 = not simulcast). */
	spatialLayers: number;
	/** Width / height of the publisher's top layer. */
	topWidth: number;
	aspect: number;
	/** The divisor of each layer's width, smallest layer first; the last is the top (1). */
	scales: readonly number[];
};

export type LayerTarget = { paused: true } | { paused: false; spatialLayer: number };

/** Device pixels of video the element actually shows across (letterboxed or cropped). */
export function shownWidth({ boxWidth, boxHeight, devicePixelRatio, cover }: ElementView, aspect: number): number {
	const fitted = cover ? Math.max(boxWidth, boxHeight * aspect) : Math.min(boxWidth, boxHeight * aspect);
	return Math.max(0, fitted) * devicePixelRatio;
}

/** The scales of a consumer with `spatialLayers` layers: the top ones of `scales`, smallest first. */
function usedScales(scales: readonly number[], spatialLayers: number): readonly number[] {
	return scales.slice(Math.max(0, scales.length - spatialLayers));
}

/** Width of each spatial layer, smallest first; the top `spatialLayers` of `scales` apply. */
export function layerWidths({ spatialLayers, topWidth, scales }: StreamView): number[] {
	return usedScales(scales, spatialLayers).map((scale) => topWidth / scale);
}

/**
 * A hidden element needs nothing (its consumer pauses); a visible one needs
 * the smallest layer at least as wide as what it shows, or the top layer
 * when none is.
 */
export function chooseLayer(view: ElementView, stream: StreamView): LayerTarget {
	if (!view.visible || view.boxWidth <= 0 || view.boxHeight <= 0) return { paused: true };
	const widths = layerWidths(stream);
	const needed = shownWidth(view, stream.aspect);
	const index = widths.findIndex((w) => w >= needed);
	return { paused: false, spatialLayer: index === -1 ? Math.max(0, widths.length - 1) : index };
}

/**
 * The publisher's top-layer width, from a decoded frame: `decodedWidth` at
 * spatial layer `currentLayer` of `spatialLayers`. Undefined when either is unknown.
 */
export function topWidthFromDecoded(
	decodedWidth: number,
	currentLayer: number | undefined,
	spatialLayers: number,
	scales: readonly number[],
): number | undefined {
	if (!(decodedWidth > 0) || currentLayer === undefined) return undefined;
	const scale = usedScales(scales, spatialLayers)[currentLayer];
	return scale === undefined ? undefined : decodedWidth * scale;
}
