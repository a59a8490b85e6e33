// The host side of the kernel trace (a -DMA_CUDA_TRACE=ON build; see
// launch.cuh): the kernel names in launch order, paired at exit with the
// stamps the kernels wrote. Launches into a capturing stream run only when
// the graph does, so their names are kept per recording and appended each
// time the graph is launched.
#pragma once

#include <cuda_runtime.h>

namespace ma::cuda {

#ifdef MA_CUDA_TRACE

// Stamps kept (later ones are counted, not stored).
constexpr unsigned long long kTraceSlots = 1ull << 20;
// Called by each translation unit's registrar: a setter of its own copy of
// the device pointer to the trace buffer (slot 0 counts the stamps).
void trace_register(void (*set_buffer)(unsigned long long*));
void trace_launch(const void* kernel, dim3 grid, cudaStream_t s);
// The launches captured since the last call become recording `slot`.
void trace_recorded(int slot);
// Recording `slot` was launched: its kernels run in their captured order.
void trace_replayed(int slot);
#else
inline void trace_recorded(int) {}
inline void trace_replayed(int) {}
#endif

}  // namespace ma::cuda
