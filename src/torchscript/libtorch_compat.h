// The one place where qreport's front-end spells something differently for LibTorch 1.13 and
// 2.x. Each entry is chosen by what the headers declare, not by version numbers, so a
// LibTorch between the tested ones (1.13, 2.6, 2.13) picks whichever spelling it has.
#ifndef QREPORT_SRC_TORCHSCRIPT_LIBTORCH_COMPAT_H_
#define QREPORT_SRC_TORCHSCRIPT_LIBTORCH_COMPAT_H_

#include <type_traits>

#include <ATen/core/ivalue.h>

namespace qreport::torchscript::internal {

namespace compat_detail {
template <typename T, typename = void>
struct DeepcopyMemo {
  using type = typename T::HashAliasedIValueMap;
};
template <typename T>
struct DeepcopyMemo<T, std::void_t<typename T::HashIdentityIValueMap>> {
  using type = typename T::HashIdentityIValueMap;
};
}  // namespace compat_detail

// The memo `IValue::deepcopy(memo)` takes: keyed by storage alias in 1.13
// (HashAliasedIValueMap), by object identity in 2.x (HashIdentityIValueMap). Either way a value
// put in it maps to itself, which is how a clone shares parameters.
using DeepcopyMemo = compat_detail::DeepcopyMemo<c10::IValue>::type;

}  // namespace qreport::torchscript::internal

#endif  // QREPORT_SRC_TORCHSCRIPT_LIBTORCH_COMPAT_H_
