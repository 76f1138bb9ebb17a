// Compatibility header for the offline mediasoup worker build.
//
// Why it exists: mediasoup 3.21+ includes <ankerl/unordered_dense.h>
// (martinus/unordered_dense), which is in neither Debian bookworm nor the npm
// registry, the only sources this build may use. The worker only needs the
// interface of map/set/hash, which the standard containers provide; they are
// a little slower, never less correct.
#ifndef TUREEN_COMPAT_ANKERL_UNORDERED_DENSE_H
#define TUREEN_COMPAT_ANKERL_UNORDERED_DENSE_H

#include <cstddef>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl::unordered_dense
{
	template<class T, class Enable = void>
	struct hash : std::hash<T>
	{
	};

	template<
	  class Key,
	  class T,
	  class Hash      = hash<Key>,
	  class KeyEqual  = std::equal_to<Key>,
	  class Allocator = std::allocator<std::pair<const Key, T>>>
	using map = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

	template<
	  class Key,
	  class Hash      = hash<Key>,
	  class KeyEqual  = std::equal_to<Key>,
	  class Allocator = std::allocator<Key>>
	using set = std::unordered_set<Key, Hash, KeyEqual, Allocator>;
} // namespace ankerl::unordered_dense

#endif
