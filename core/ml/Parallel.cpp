#include "core/ml/internal/Parallel.hpp"

namespace camsight::ml {

torch::Tensor parallelLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                             const torch::Tensor& residual)
{
    const std::int64_t m = x.size(0), n = weight.size(0);
    torch::Tensor out = torch::empty({m, n}, x.options());
    const torch::Tensor wt = weight.t();
    const std::int64_t threads = std::max<std::int64_t>(1, at::get_num_threads()), maxRows = 1024;
    const std::int64_t blocks = threads * ((m + threads * maxRows - 1) / (threads * maxRows));
    parallelTasks(blocks, [&](std::int64_t first, std::int64_t last) {
        for (std::int64_t i = first; i < last; ++i) {
            const std::int64_t begin = m * i / blocks, size = m * (i + 1) / blocks - begin;
            if (size == 0)
                continue;
            torch::Tensor o = out.narrow(0, begin, size);
            const torch::Tensor rows = x.narrow(0, begin, size);
            if (residual.defined()) {
                if (bias.defined())
                    at::add_out(o, residual.narrow(0, begin, size), bias);
                else
                    o.copy_(residual.narrow(0, begin, size));
                o.addmm_(rows, wt);
            } else if (bias.defined()) {
                at::addmm_out(o, bias, rows, wt);
            } else {
                at::mm_out(o, rows, wt);
            }
        }
    });
    return out;
}

}  // namespace camsight::ml
