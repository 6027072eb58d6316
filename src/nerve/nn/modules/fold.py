"""``Unfold`` and ``Fold``: sliding blocks of an image as columns (im2col) and back (col2im)."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor

Size = int | tuple[int, int]


class Unfold(Module):
    """Extract sliding blocks: each column of the output is one flattened C×kh×kw receptive field.

    A convolution is ``weight.view(C_out, -1) @ unfold(x)``; the columns are ordered row-major over the blocks.

    Args:
        kernel_size: block size, an int or (kh, kw).
        dilation: spacing between the elements of a block (default 1).
        padding: zeros added on both sides of H and W (default 0).
        stride: step between blocks (default 1).

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C·kh·kw, L) or (C·kh·kw, L), L = bh·bw with
          bh = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1

    Example:
        >>> nn.Unfold(kernel_size=(2, 3))(nerve.randn(2, 5, 3, 4)).shape
        (2, 30, 4)
    """

    def __init__(self, kernel_size: Size, dilation: Size = 1, padding: Size = 0, stride: Size = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        return F.unfold_checked(x, self.kernel_size, self.dilation, self.padding, self.stride,
                                f"Unfold({self.extra_repr()})")

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """Combine sliding blocks into an image, summing where they overlap: the adjoint of :class:`Unfold`
    (``fold(unfold(x))`` multiplies each pixel by the number of blocks covering it).

    Args:
        output_size: the image's (H, W) (an int for both).
        kernel_size, dilation, padding, stride: as :class:`Unfold`.

    Shape:
        - Input: (N, C·kh·kw, L) or (C·kh·kw, L), L the number of blocks in ``output_size``
        - Output: (N, C, H, W) or (C, H, W)
    """

    def __init__(self, output_size: Size, kernel_size: Size, dilation: Size = 1, padding: Size = 0,
                 stride: Size = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        return F.fold_checked(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride,
                              f"Fold({self.extra_repr()})")

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
