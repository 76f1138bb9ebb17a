// The cluster's Redis data, changed only by these Lua scripts so that every
// decision (who owns a room, who is alive) is atomic on the Redis server and
// uses its clock for TTLs, never a node's.
//
//   tureen:nodes                 set of node ids that registered (pruned when their entry expired)
//   tureen:node:<nodeId>         the node's NodeRecord as JSON, PX node TTL, rewritten every heartbeat
//   tureen:room:<roomId>         the owning node id, PX room TTL, renewed by the owner's heartbeat
//   tureen:node-rooms:<nodeId>   set of the rooms a node owns (or was given), for the room counts
//   tureen:placement-seq         counter stamping each placement (the "least recently placed" order)
//   tureen:last-placed           hash node id -> the placement-seq of its last placement
//   tureen:node-instance:<id>    the process (a random token) that heartbeats as that node id, PX node TTL
//   tureen:generation            a random token written by the first heartbeat into an empty Redis: a
//                                different one than a node saw last means Redis lost its data meanwhile
//   tureen:reclaim               present while a re-claim window is open (PX its grace): no fresh claims
//   tureen:reclaim:expected      set of the nodes the window waits for (the ones known before the loss)
//   tureen:reclaim:seen          set of the nodes that heartbeated since the window opened
//   tureen:room-quota:<address>  rooms placed for that client address in the current window (PX the window)
//
// Keys are built inside the scripts from ARGV prefixes, so this layout needs a
// single Redis (or a primary with replicas / Sentinel), not Redis Cluster.

export const KEYS = {
	nodes: 'tureen:nodes',
	nodePrefix: 'tureen:node:',
	roomPrefix: 'tureen:room:',
	nodeRoomsPrefix: 'tureen:node-rooms:',
	placementSeq: 'tureen:placement-seq',
	lastPlaced: 'tureen:last-placed',
	instancePrefix: 'tureen:node-instance:',
	generation: 'tureen:generation',
	reclaim: 'tureen:reclaim',
	reclaimExpected: 'tureen:reclaim:expected',
	reclaimSeen: 'tureen:reclaim:seen',
	roomQuotaPrefix: 'tureen:room-quota:',
} as const;

/**
 * Heartbeat. ARGV: nodeId, record JSON, node TTL ms, room TTL ms, this
 * process's instance token, a fresh generation token (used if Redis has
 * none), the generation of this node's last heartbeat ('' before its first),
 * the re-claim grace ms ('' for none), the number of expected node ids, those
 * ids, then the ids of the rooms this node hosts.
 *
 * Refuses, writing nothing, when another process holds the node id: returns
 * { 'taken', its entry's PTTL }. Otherwise registers the node (and counts it
 * seen by an open re-claim window), opens a window when Redis lost its data
 * since the last heartbeat and a grace is given, renews (or re-claims, after
 * Redis lost them) its rooms, and rebuilds its room set: rooms placed on it by
 * another node that it does not host yet stay while their key names it.
 * Returns { 'ok', the generation, the hosted rooms another live node owns now... }.
 */
export const HEARTBEAT = `
local me, record, nodeTtl, roomTtl, instance, freshGen, lastGen, grace = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local expectedCount = tonumber(ARGV[9])
local firstRoom = 10 + expectedCount
local nodePrefix, roomPrefix, setPrefix = '${KEYS.nodePrefix}', '${KEYS.roomPrefix}', '${KEYS.nodeRoomsPrefix}'
local instanceKey = '${KEYS.instancePrefix}' .. me
local holder = redis.call('GET', instanceKey)
if holder and holder ~= instance then return { 'taken', tostring(redis.call('PTTL', instanceKey)) } end
redis.call('SET', instanceKey, instance, 'PX', nodeTtl)
local gen = redis.call('GET', '${KEYS.generation}')
if not gen then
  gen = freshGen
  redis.call('SET', '${KEYS.generation}', gen)
end
if lastGen ~= '' and lastGen ~= gen and grace ~= '' then
  -- Redis lost its data since this node's last heartbeat: no fresh claims until the nodes it knew are back.
  redis.call('SET', '${KEYS.reclaim}', gen, 'PX', grace, 'NX')
  local left = redis.call('PTTL', '${KEYS.reclaim}')
  for i = 10, firstRoom - 1 do redis.call('SADD', '${KEYS.reclaimExpected}', ARGV[i]) end
  if expectedCount > 0 then redis.call('PEXPIRE', '${KEYS.reclaimExpected}', left) end
end
if redis.call('EXISTS', '${KEYS.reclaim}') == 1 then
  redis.call('SADD', '${KEYS.reclaimSeen}', me)
  redis.call('PEXPIRE', '${KEYS.reclaimSeen}', redis.call('PTTL', '${KEYS.reclaim}'))
end
redis.call('SET', nodePrefix .. me, record, 'PX', nodeTtl)
redis.call('SADD', '${KEYS.nodes}', me)
local mine = setPrefix .. me
local hosted = {}
local lost = { 'ok', gen }
for i = firstRoom, #ARGV do
  local roomId = ARGV[i]
  local owner = redis.call('GET', roomPrefix .. roomId)
  if owner and owner ~= me and redis.call('EXISTS', nodePrefix .. owner) == 1 then
    lost[#lost + 1] = roomId
  else
    if owner and owner ~= me then redis.call('SREM', setPrefix .. owner, roomId) end
    redis.call('SET', roomPrefix .. roomId, me, 'PX', roomTtl)
    hosted[roomId] = true
  end
end
for _, roomId in ipairs(redis.call('SMEMBERS', mine)) do
  if not hosted[roomId] and redis.call('GET', roomPrefix .. roomId) ~= me then redis.call('SREM', mine, roomId) end
end
local batch = {}
for roomId in pairs(hosted) do
  batch[#batch + 1] = roomId
  -- One SADD per thousand rooms (unpack() has a stack limit).
  if #batch == 1000 then redis.call('SADD', mine, unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('SADD', mine, unpack(batch)) end
redis.call('PEXPIRE', mine, nodeTtl)
return lost
`;

/**
 * Claim a room for a node (itself, or another chosen by the policy). ARGV:
 * roomId, nodeId, TTL ms, node TTL ms, then the guards ('' = unchecked): the
 * caller's Redis generation, nodeId's MAX_ROOMS, the creating client's
 * address, its quota and the quota window ms. The room goes to nodeId when
 * it has no owner, already is nodeId's, or its owner's entry has expired
 * (dead node); never while another live node owns it. nodeId must be
 * registered. A fresh claim (not a renewal) is also refused while a re-claim
 * window waits for nodes, when nodeId owns MAX_ROOMS rooms already, and when
 * the address placed its quota of rooms in the window (then counted).
 * Returns { 1, previous owner or '' } when nodeId owns it now and did not
 * before, { 2, nodeId } when it already did (renewed), { 0, owner } when
 * another live node does, { -1, '' } when nodeId is not registered, { -2,
 * generation } when the caller's generation is not Redis's, { -3, '' }
 * while re-claiming, { -4, '' } when nodeId is full, { -5, '' } over quota.
 */
export const CLAIM = `
local roomId, target, ttl, nodeTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local generation, maxRooms, creator, quota, quotaWindow = ARGV[5] or '', ARGV[6] or '', ARGV[7] or '', ARGV[8] or '', ARGV[9] or ''
local nodePrefix, setPrefix = '${KEYS.nodePrefix}', '${KEYS.nodeRoomsPrefix}'
if generation ~= '' then
  local gen = redis.call('GET', '${KEYS.generation}')
  if gen ~= generation then return { -2, gen or '' } end
end
local key = '${KEYS.roomPrefix}' .. roomId
local owner = redis.call('GET', key)
if owner and owner ~= target and redis.call('EXISTS', nodePrefix .. owner) == 1 then return { 0, owner } end
if redis.call('EXISTS', nodePrefix .. target) == 0 then return { -1, '' } end
if owner ~= target then
  if redis.call('EXISTS', '${KEYS.reclaim}') == 1 and #redis.call('SDIFF', '${KEYS.reclaimExpected}', '${KEYS.reclaimSeen}') > 0 then return { -3, '' } end
  if maxRooms ~= '' and redis.call('SCARD', setPrefix .. target) >= tonumber(maxRooms) then return { -4, '' } end
  if creator ~= '' and tonumber(redis.call('GET', '${KEYS.roomQuotaPrefix}' .. creator) or '0') >= tonumber(quota) then return { -5, '' } end
end
redis.call('SET', key, target, 'PX', ttl)
if owner and owner ~= target then redis.call('SREM', setPrefix .. owner, roomId) end
redis.call('SADD', setPrefix .. target, roomId)
redis.call('PEXPIRE', setPrefix .. target, nodeTtl)
if owner == target then return { 2, owner } end
redis.call('HSET', '${KEYS.lastPlaced}', target, redis.call('INCR', '${KEYS.placementSeq}'))
if creator ~= '' and redis.call('INCR', '${KEYS.roomQuotaPrefix}' .. creator) == 1 then
  redis.call('PEXPIRE', '${KEYS.roomQuotaPrefix}' .. creator, quotaWindow)
end
return { 1, owner or '' }
`;

/** Release rooms a node owns. ARGV: nodeId, then room ids. Returns how many it still owned. */
export const RELEASE = `
local me = ARGV[1]
local released = 0
for i = 2, #ARGV do
  local key = '${KEYS.roomPrefix}' .. ARGV[i]
  if redis.call('GET', key) == me then
    redis.call('DEL', key)
    released = released + 1
  end
  redis.call('SREM', '${KEYS.nodeRoomsPrefix}' .. me, ARGV[i])
end
return released
`;

/**
 * A node leaves the registry at once (clean shutdown), freeing its id. ARGV:
 * nodeId, instance token. Nothing is done (returns 0) when another process
 * holds the id: a node refused as a duplicate must not unregister the live one.
 */
export const UNREGISTER = `
local holder = redis.call('GET', '${KEYS.instancePrefix}' .. ARGV[1])
if holder and holder ~= ARGV[2] then return 0 end
redis.call('DEL', '${KEYS.nodePrefix}' .. ARGV[1], '${KEYS.nodeRoomsPrefix}' .. ARGV[1], '${KEYS.instancePrefix}' .. ARGV[1])
redis.call('SREM', '${KEYS.nodes}', ARGV[1])
return 1
`;

/**
 * Every live node: { nodeId, record JSON, room count, last placement seq, ... }.
 * Ids whose entry expired are pruned from the set on the way.
 */
export const READ_NODES = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', '${KEYS.nodes}')) do
  local record = redis.call('GET', '${KEYS.nodePrefix}' .. id)
  if record then
    out[#out + 1] = id
    out[#out + 1] = record
    out[#out + 1] = redis.call('SCARD', '${KEYS.nodeRoomsPrefix}' .. id)
    out[#out + 1] = tonumber(redis.call('HGET', '${KEYS.lastPlaced}', id) or '0')
  else
    redis.call('SREM', '${KEYS.nodes}', id)
  end
end
return out
`;

/** A room's owner and its record ('' when it has none, or its entry expired). ARGV: roomId. Returns { owner or '', record or '' }. */
export const ROOM_OWNER = `
local owner = redis.call('GET', '${KEYS.roomPrefix}' .. ARGV[1])
if not owner then return { '', '' } end
return { owner, redis.call('GET', '${KEYS.nodePrefix}' .. owner) or '' }
`;
