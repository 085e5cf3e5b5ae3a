// SPDX-License-Identifier: Apache-2.0
/*
 * C++ with inlined templates and a known CPU split (-O2 -g): Engine::heavy does three times
 * the work of Engine::light, and in both mix<> is inlined into step<>, step<> into run<>, run<> into the method,
 * so sampled addresses carry an inline chain mix <- step <- run <- heavy|light. Built stripped too,
 * with its debug file apart: the collector's symbolization test. usage: inline_cpp SECONDS
 */
#include <cstdint>
#include <cstdlib>

#include "workload.h"

namespace sonde {
namespace wl {

template <typename T> static inline __attribute__((always_inline)) T mix(T x)
{
	return (x * 2654435761u) ^ (x >> 13);
}

template <typename T> static inline __attribute__((always_inline)) T step(T x, int k)
{
	for (int i = 0; i < k; i++)
		x = mix<T>(x + static_cast<T>(i));
	return x;
}

/* the same loop in both methods, inlined: equal work per iteration (Salt keeps them apart) */
template <unsigned Salt> static inline __attribute__((always_inline)) std::uint64_t run(std::uint64_t n)
{
	std::uint64_t acc = 0;

	for (std::uint64_t i = 0; i < n; i++)
		acc += step<std::uint64_t>(i + Salt, 16);
	return acc;
}

struct Engine {
	__attribute__((noinline)) std::uint64_t heavy(std::uint64_t n) const;
	__attribute__((noinline)) std::uint64_t light(std::uint64_t n) const;
};

std::uint64_t Engine::heavy(std::uint64_t n) const
{
	return run<1>(n);
}

std::uint64_t Engine::light(std::uint64_t n) const
{
	return run<2>(n);
}

} // namespace wl
} // namespace sonde

/* volatile: with a constant argument the compiler could fold the calls away */
static volatile std::uint64_t work = 200000;

int main(int argc, char **argv)
{
	double end = wl_now() + (argc > 1 ? std::atof(argv[1]) : 5);
	volatile std::uint64_t sink = 0;
	sonde::wl::Engine e;

	do {
		sink = sink + e.heavy(3 * work);
		sink = sink + e.light(work);
	} while (wl_now() < end);
	return static_cast<int>(sink & 1);
}
