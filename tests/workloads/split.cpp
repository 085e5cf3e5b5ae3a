// SPDX-License-Identifier: Apache-2.0
// The known 3:1 split in C++: templates, namespaces, a functor, built without frame pointers.
// usage: split_cpp SECONDS [A B]
#include <chrono>
#include <cstdint>
#include <cstdlib>

namespace sonde::workload {

static volatile std::uint64_t sink;

template <typename T> struct Burner {
	__attribute__((noinline)) void operator()(T n) const
	{
		for (T i = 0; i < n; i++)
			sink += static_cast<std::uint64_t>(i) * 7;
	}
};

template <typename T> __attribute__((noinline)) void hot_a(T n)
{
	Burner<T>{}(n);
	sink += 1; /* distinct from hot_b: no identical-code folding */
}

template <typename T> __attribute__((noinline)) void hot_b(T n)
{
	Burner<T>{}(n);
	sink += 2;
}

class Runner {
public:
	Runner(double seconds, std::uint64_t a, std::uint64_t b) : seconds_(seconds), a_(a), b_(b)
	{
	}
	__attribute__((noinline)) void run() const
	{
		using clock = std::chrono::steady_clock;
		auto end = clock::now() + std::chrono::duration<double>(seconds_);

		while (clock::now() < end) {
			hot_a<std::uint64_t>(a_ * 3000000); /* turns of milliseconds: no aliasing */
			hot_b<std::uint64_t>(b_ * 3000000);
		}
		asm volatile("" ::: "memory");
	}

private:
	double seconds_;
	std::uint64_t a_, b_;
};

} // namespace sonde::workload

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? std::atof(argv[1]) : 5;
	std::uint64_t a = argc > 3 ? std::strtoull(argv[2], nullptr, 10) : 3;
	std::uint64_t b = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;

	sonde::workload::Runner(seconds, a, b).run();
	return 0;
}
