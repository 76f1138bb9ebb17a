import { z } from 'zod';

/** Room ids travel in URLs, logs and metrics labels: keep them short and plain. */
export const ROOM_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const roomIdSchema = z.string().regex(new RegExp(ROOM_ID_PATTERN), {
	message: 'roomId must be 1-64 characters of A-Z, a-z, 0-9, _ and -',
});
export type RoomId = z.infer<typeof roomIdSchema>;
