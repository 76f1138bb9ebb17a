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
} as const;

/**
 * Heartbeat. ARGV: nodeId, record JSON, node TTL ms, room TTL ms, then the
 * ids of the rooms this node hosts. Registers the node, renews (or re-claims,
 * after Redis lost them) its rooms, and rebuilds its room set: rooms placed on
 * it by another node that it does not host yet stay while their key names it.
 * Returns the hosted rooms that another live node owns now.
 */
export const HEARTBEAT = `
local me, record, nodeTtl, roomTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local nodePrefix, roomPrefix, setPrefix = '${KEYS.nodePrefix}', '${KEYS.roomPrefix}', '${KEYS.nodeRoomsPrefix}'
redis.call('SET', nodePrefix .. me, record, 'PX', nodeTtl)
redis.call('SADD', '${KEYS.nodes}', me)
local mine = setPrefix .. me
local hosted = {}
local lost = {}
for i = 5, #ARGV do
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
 * roomId, nodeId, TTL ms, node TTL ms. The room goes to nodeId when it has no
 * owner, already is nodeId's, or its owner's entry has expired (dead node);
 * never while another live node owns it. nodeId must be registered.
 * Returns { 1, previous owner or '' } when nodeId owns it now and did not
 * before, { 2, nodeId } when it already did (renewed), { 0, owner } when
 * another live node does, { -1, '' } when nodeId is not registered.
 */
export const CLAIM = `
local roomId, target, ttl, nodeTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local nodePrefix, setPrefix = '${KEYS.nodePrefix}', '${KEYS.nodeRoomsPrefix}'
local key = '${KEYS.roomPrefix}' .. roomId
local owner = redis.call('GET', key)
if owner and owner ~= target and redis.call('EXISTS', nodePrefix .. owner) == 1 then return { 0, owner } end
if redis.call('EXISTS', nodePrefix .. target) == 0 then return { -1, '' } end
redis.call('SET', key, target, 'PX', ttl)
if owner and owner ~= target then redis.call('SREM', setPrefix .. owner, roomId) end
redis.call('SADD', setPrefix .. target, roomId)
redis.call('PEXPIRE', setPrefix .. target, nodeTtl)
if owner == target then return { 2, owner } end
redis.call('HSET', '${KEYS.lastPlaced}', target, redis.call('INCR', '${KEYS.placementSeq}'))
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

/** A node leaves the registry at once (clean shutdown). ARGV: nodeId. */
export const UNREGISTER = `
redis.call('DEL', '${KEYS.nodePrefix}' .. ARGV[1], '${KEYS.nodeRoomsPrefix}' .. ARGV[1])
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
