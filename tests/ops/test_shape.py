"""Shape and indexing ops: float64 gradchecks and PyTorch parity (views, copies, scatter-backs)."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
import torch
from conftest import check_grad, compare_with_torch, rand

import nerve


def F(lib):
    return lib.nn.functional


def _check_both(fn, *arrays):
    check_grad(functools.partial(fn, nerve), *arrays)
    compare_with_torch(fn, *[a.astype(np.float32) for a in arrays])


# (id, fn(lib, x), input shape)
UNARY_SHAPE_OPS = [
    ("reshape", lambda lib, x: x.reshape(3, 2), (2, 3)),
    ("reshape_infer", lambda lib, x: x.reshape((-1,)), (2, 3)),
    ("reshape_fn", lambda lib, x: lib.reshape(x, (3, -1)), (2, 3)),
    ("reshape_same", lambda lib, x: x.reshape(2, 3), (2, 3)),
    ("reshape_0d", lambda lib, x: x.reshape(1, 1), ()),
    ("reshape_to_0d", lambda lib, x: x.reshape(()), (1,)),
    ("view", lambda lib, x: x.view(6), (2, 3)),
    ("view_infer", lambda lib, x: x.view(-1, 2), (2, 3)),
    ("permute", lambda lib, x: x.permute(2, 0, 1), (2, 3, 2)),
    ("permute_fn_tuple", lambda lib, x: lib.permute(x, (1, 0, 2)), (2, 3, 2)),
    ("permute_neg", lambda lib, x: x.permute(-1, 0, 1), (2, 3, 2)),
    ("transpose", lambda lib, x: x.transpose(0, 1), (2, 3)),
    ("transpose_fn_neg", lambda lib, x: lib.transpose(x, -1, 0), (2, 3, 2)),
    ("T", lambda lib, x: x.T, (2, 3)),
    ("mT", lambda lib, x: x.mT, (2, 2, 3)),
    ("t", lambda lib, x: x.t(), (2, 3)),
    ("expand", lambda lib, x: x.expand(2, 3), (1, 3)),
    ("expand_minus_one", lambda lib, x: x.expand(4, -1), (1, 3)),
    ("expand_new_leading", lambda lib, x: x.expand(2, 2, 3), (2, 1)),
    ("expand_new_leading_minus_one", lambda lib, x: x.expand(3, -1, 2), (2, 1)),
    ("expand_tuple", lambda lib, x: x.expand((2, 3)), (3,)),
    ("expand_0d", lambda lib, x: x.expand(2, 3), ()),
    ("broadcast_to", lambda lib, x: lib.broadcast_to(x, (2, 3)), (3,)),
    ("squeeze_all", lambda lib, x: x.squeeze(), (1, 3, 1)),
    ("squeeze_dim", lambda lib, x: x.squeeze(0), (1, 3, 1)),
    ("squeeze_noop", lambda lib, x: lib.squeeze(x, 1), (1, 3, 1)),
    ("squeeze_tuple", lambda lib, x: x.squeeze((0, -1)), (1, 3, 1)),
    ("unsqueeze", lambda lib, x: x.unsqueeze(0), (2, 3)),
    ("unsqueeze_neg", lambda lib, x: lib.unsqueeze(x, -1), (2, 3)),
    ("unsqueeze_mid", lambda lib, x: x.unsqueeze(1), (2, 3)),
    ("unsqueeze_0d", lambda lib, x: x.unsqueeze(0), ()),
    ("flatten", lambda lib, x: x.flatten(), (2, 3, 2)),
    ("flatten_start", lambda lib, x: x.flatten(1), (2, 3, 2)),
    ("flatten_fn_range", lambda lib, x: lib.flatten(x, 0, -2), (2, 3, 2)),
    ("flatten_0d", lambda lib, x: x.flatten(), ()),
    ("unflatten", lambda lib, x: x.unflatten(1, (3, 2)), (2, 6)),
    ("unflatten_fn_infer", lambda lib, x: lib.unflatten(x, -1, (2, -1)), (2, 6)),
    ("flip", lambda lib, x: lib.flip(x, (0,)), (2, 3)),
    ("flip_both", lambda lib, x: x.flip((0, 1)), (2, 3)),
    ("flip_1d", lambda lib, x: lib.flip(x, [-1]), (3,)),
    ("movedim", lambda lib, x: lib.movedim(x, 0, -1), (2, 3, 2)),
    ("movedim_method", lambda lib, x: x.movedim(2, 0), (2, 3, 2)),
    ("repeat", lambda lib, x: x.repeat(2, 1), (2, 3)),
    ("repeat_new_dims", lambda lib, x: x.repeat(2, 1, 3), (2, 3)),
    ("repeat_1d", lambda lib, x: lib.Tensor.repeat(x, 3), (3,)),
    ("repeat_0d", lambda lib, x: x.repeat(2, 2), ()),
    ("contiguous", lambda lib, x: x.T.contiguous() * 2.0, (2, 3)),
    ("pad", lambda lib, x: F(lib).pad(x, (1, 2)), (2, 3)),
    ("pad_value_2d", lambda lib, x: F(lib).pad(x, (1, 0, 2, 1), value=0.5), (2, 3)),
    ("pad_crop", lambda lib, x: F(lib).pad(x, (-1, 1)), (2, 3)),
    ("pad_crop_2d", lambda lib, x: F(lib).pad(x, (0, -1, -1, 2)), (2, 3)),
    ("pad_3d_last_dim", lambda lib, x: F(lib).pad(x, (2, 2)), (2, 1, 3)),
    ("split_int", lambda lib, x: x.split(2, 1), (2, 3)),
    ("split_fn_sections", lambda lib, x: lib.split(x, [1, 2], 1), (2, 3)),
    ("split_dim0", lambda lib, x: x.split(1), (2, 3)),
    ("chunk", lambda lib, x: x.chunk(2, 0), (2, 3)),
    ("chunk_uneven", lambda lib, x: lib.chunk(x, 2, -1), (2, 3)),
    ("chunk_more_than_size", lambda lib, x: x.chunk(5, 1), (2, 3)),
    ("unbind", lambda lib, x: x.unbind(1), (2, 3)),
    ("unbind_fn", lambda lib, x: lib.unbind(x), (2, 3)),
    ("cat_self", lambda lib, x: lib.cat([x, x * 2.0], 0), (2, 3)),
    ("stack_self", lambda lib, x: lib.stack([x, x.exp()], -1), (2, 3)),
    # getitem
    ("int", lambda lib, x: x[1], (2, 3)),
    ("neg_int", lambda lib, x: x[-1], (3,)),
    ("slice", lambda lib, x: x[1:], (3,)),
    ("slice_step", lambda lib, x: x[::2], (5,)),
    ("slice_neg_bounds", lambda lib, x: x[-3:-1], (5,)),
    ("col", lambda lib, x: x[:, 1], (2, 3)),
    ("slices_2d", lambda lib, x: x[1:, ::2], (2, 3)),
    ("ellipsis", lambda lib, x: x[..., 0], (2, 3, 2)),
    ("ellipsis_mid", lambda lib, x: x[0, ..., 1:], (2, 3, 2)),
    ("none", lambda lib, x: x[None], (2, 3)),
    ("none_mid", lambda lib, x: x[:, None, 1:], (2, 3)),
    ("empty_tuple_0d", lambda lib, x: x[()] * 2.0, ()),
    ("none_0d", lambda lib, x: x[None], ()),
    ("list_dup", lambda lib, x: x[[0, 0, 2]], (3, 2)),
    ("list_neg", lambda lib, x: x[[-1, 0, -1]], (3,)),
    ("tensor_dup", lambda lib, x: x[lib.tensor([2, 0, 2, 2])], (3, 2)),
    ("tensor_2d_index", lambda lib, x: x[lib.tensor([[0, 1], [1, 1]])], (3, 2)),
    ("tensor_0d_index", lambda lib, x: x[lib.tensor(1)], (3, 2)),
    ("two_arrays", lambda lib, x: x[[0, 1, 1], [2, 0, 2]], (2, 3)),
    ("array_slice", lambda lib, x: x[lib.tensor([1, 0, 1]), 1:], (2, 3)),
    ("slice_array", lambda lib, x: x[:, [2, 2, 0]], (2, 3)),
    ("ellipsis_array", lambda lib, x: x[..., [0, 0]], (2, 3, 2)),
    ("none_array", lambda lib, x: x[None, [0, 0, 1]], (2, 3)),
    ("int_array", lambda lib, x: x[1, [0, 2, 0]], (2, 3)),
    ("bool_from_data", lambda lib, x: x[x > 0], (2, 3)),
    ("bool_row_mask", lambda lib, x: x[lib.tensor([True, False, True])], (3, 2)),
    ("index_select", lambda lib, x: x.index_select(0, lib.tensor([2, 0, 2])), (3, 2)),
    ("index_select_dim1", lambda lib, x: x.index_select(1, lib.tensor([1, 1])), (3, 2)),
    ("index_select_neg", lambda lib, x: x.index_select(-1, lib.tensor([0])), (3, 2)),
    ("masked_fill", lambda lib, x: x.masked_fill(x > 0.5, -1.0), (2, 3)),
    ("masked_fill_broadcast", lambda lib, x: x.masked_fill(lib.tensor([True, False, True]), 0.0), (2, 3)),
]


@pytest.mark.parametrize("fn, shape", [c[1:] for c in UNARY_SHAPE_OPS], ids=[c[0] for c in UNARY_SHAPE_OPS])
def test_shape_op(fn, shape):
    _check_both(fn, rand(*shape, seed=4))


def test_bool_mask_input():
    x = rand(2, 3)
    mask = np.array([[True, False, True], [False, False, True]])
    check_grad(lambda x: x[nerve.tensor(mask)], x)
    compare_with_torch(lambda lib, x, m: x[m], x.astype(np.float32), mask)
    compare_with_torch(lambda lib, x, m: x.masked_fill(m, 2.0), x.astype(np.float32), mask)


@pytest.mark.parametrize(
    "shapes, dim",
    [(((2, 3), (1, 3)), 0), (((2, 3), (2, 2), (2, 1)), -1), (((3,), (2,)), 0), (((2, 1, 2), (2, 3, 2)), 1)],
    ids=str,
)
def test_cat(shapes, dim):
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    _check_both(lambda lib, *xs: lib.cat(list(xs), dim), *arrays)
    _check_both(lambda lib, *xs: lib.concat(xs, dim=dim), *arrays)
    _check_both(lambda lib, *xs: lib.concatenate(xs, dim), *arrays)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim):
    arrays = [rand(2, 3, seed=i) for i in range(3)]
    _check_both(lambda lib, *xs: lib.stack(xs, dim), *arrays)


def test_stack_of_scalars():
    _check_both(lambda lib, a, b: lib.stack([a, b]), rand(seed=1), rand(seed=2))


@pytest.mark.parametrize(
    "dtypes", [("float32", "float64"), ("int64", "float32"), ("float32", "int32"), ("bool", "int64"),
               ("int32", "int64"), ("bool", "float32")],
    ids=str,
)
def test_cat_promotes_dtypes_like_torch(dtypes):
    a = (rand(2, 3, seed=1) * 3).astype(dtypes[0])
    b = (rand(1, 3, seed=2) * 3).astype(dtypes[1])
    compare_with_torch(lambda lib, a, b: lib.cat([a, b]), a, b)
    compare_with_torch(lambda lib, a, b: lib.stack([a[0], b[0]], 1), a, b)


def test_getitem_basic_index_is_a_view_like_torch():
    x = nerve.arange(6).reshape(2, 3)
    row = x[1]
    row.data[0] = 100
    assert x[1, 0].item() == 100


def test_setitem_under_no_grad_and_on_plain_tensors():
    x = nerve.zeros(2, 3)
    x[0, 1:] = 2.0
    x[nerve.tensor([1])] = nerve.tensor([5.0, 6.0, 7.0])
    np.testing.assert_array_equal(x.data, [[0, 2, 2], [5, 6, 7]])
    w = nerve.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="__setitem__: a leaf tensor that requires grad"):
        w[0] = 1.0
    with nerve.no_grad():
        w[0] = 1.0
    assert w.data[0] == 1.0


def test_split_chunk_unbind_structure_matches_torch():
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    for fn in (lambda lib, x: x.split(2, 1), lambda lib, x: x.split([3, 0, 2], -1), lambda lib, x: x.chunk(3, 1),
               lambda lib, x: x.chunk(4, 1), lambda lib, x: x.unbind(0)):
        n, t = fn(nerve, nerve.tensor(x)), fn(torch, torch.tensor(x))
        assert isinstance(n, tuple) and len(n) == len(t)
        for a, b in zip(n, t):
            np.testing.assert_array_equal(a.data, b.numpy())


def test_transpose_and_permute_identity_still_support_backward():
    for fn in (lambda x: x.transpose(1, 1), lambda x: x.permute(0, 1), lambda x: x.reshape(2, 3),
               lambda x: x.expand(2, 3), lambda x: x.squeeze()):
        x = nerve.tensor(rand(2, 3), requires_grad=True)
        (fn(x) * 2.0).sum().backward()
        np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))


# ------------------------------------------------------------------------------------------------ errors


def test_reshape_incompatible_shape():
    with pytest.raises(ValueError, match=r"reshape: shape \(4, 2\) is invalid for input of shape \(2, 3\)"):
        nerve.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"reshape: shape \(-1, -1\) is invalid"):
        nerve.ones(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match=r"reshape: shape \(4, -1\) is invalid for input of shape \(2, 3\)"):
        nerve.ones(2, 3).view(4, -1)


def test_cat_mismatched_shapes():
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 2\) but tensor 0 has shape \(3, 2\)"):
        nerve.cat([nerve.ones(3, 2), nerve.ones(2, 2)], dim=1)
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 2, 1\)"):
        nerve.cat([nerve.ones(2, 2), nerve.ones(2, 2, 1)])
    with pytest.raises(ValueError, match="cat: expected a non-empty sequence"):
        nerve.cat([])


def test_stack_mismatched_shapes():
    with pytest.raises(ValueError, match=r"stack: tensor 1 has shape \(3,\), tensor 0 has \(2,\)"):
        nerve.stack([nerve.ones(2), nerve.ones(3)])


def test_expand_incompatible():
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 3\) to \(2, 4\)"):
        nerve.ones(2, 3).expand(2, 4)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 3\) to fewer dims \(3,\)"):
        nerve.ones(2, 3).expand(3)
    with pytest.raises(ValueError, match="expand: -1 is not allowed for the new leading dim 0"):
        nerve.ones(3).expand(-1, 3)


def test_permute_not_a_permutation():
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0\) must be a permutation of 0..1 for shape \(2, 3\)"):
        nerve.ones(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match=r"permute: got 1 dims \(0,\) for a tensor of shape \(2, 3\)"):
        nerve.ones(2, 3).permute(0)


def test_indexing_errors():
    x = nerve.ones(2, 3)
    with pytest.raises(IndexError, match="getitem: tensors used as indices must be integer or bool, got dtype float32"):
        x[nerve.tensor([0.0])]
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 2"):
        x[5]


def test_other_shape_errors():
    x = nerve.ones(2, 3)
    with pytest.raises(ValueError, match=r"split: sections \[1, 1\] sum to 2, dim 1 has size 3"):
        x.split([1, 1], 1)
    with pytest.raises(ValueError, match="split: split_size must be positive, got 0"):
        x.split(0)
    with pytest.raises(ValueError, match="chunk: chunks must be positive"):
        x.chunk(0)
    with pytest.raises(ValueError, match=r"pad: expected an even number of widths for at most 2 dims"):
        F(nerve).pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: widths \[-2, -2\] crop more than the input shape \(2, 3\)"):
        F(nerve).pad(x, (-2, -2))
    with pytest.raises(IndexError, match="unsqueeze: dim 3 is out of range"):
        x.unsqueeze(3)
    with pytest.raises(ValueError, match="flatten: start_dim 1 comes after end_dim 0"):
        x.flatten(1, 0)
    with pytest.raises(ValueError, match="t: expects a tensor with <= 2 dims, got 3"):
        nerve.ones(1, 2, 3).t()
    with pytest.raises(ValueError, match="repeat: got 1 repeat counts for a tensor with 2 dimensions"):
        x.repeat(2)
    with pytest.raises(IndexError, match="transpose: dim 2 is out of range"):
        x.transpose(0, 2)


# ------------------------------------------- roll, narrow, repeat_interleave, stacking, unfold, swapaxes, pad

NEW_SHAPE_OPS = [
    ("roll_dim", lambda lib, x: lib.roll(x, 1, 1), (2, 3)),
    ("roll_negative", lambda lib, x: x.roll(-4, 0), (3, 2)),
    ("roll_several", lambda lib, x: lib.roll(x, (1, 2), (0, -1)), (2, 3, 4)),
    ("roll_flat", lambda lib, x: x.roll(2), (2, 3)),
    ("roll_full_turn", lambda lib, x: lib.roll(x, 3, 1) * 2.0, (2, 3)),
    ("narrow", lambda lib, x: lib.narrow(x, 1, 1, 2), (2, 3)),
    ("narrow_neg_start", lambda lib, x: x.narrow(-1, -2, 2), (2, 3)),
    ("narrow_empty", lambda lib, x: x.narrow(0, 2, 0), (2, 3)),
    ("repeat_interleave_int", lambda lib, x: lib.repeat_interleave(x, 2, 0), (2, 3)),
    ("repeat_interleave_flat", lambda lib, x: x.repeat_interleave(3), (2, 3)),
    ("repeat_interleave_tensor", lambda lib, x: x.repeat_interleave(lib.tensor([2, 0, 1]), dim=1), (2, 3)),
    ("repeat_interleave_one_count", lambda lib, x: lib.repeat_interleave(x, lib.tensor([3]), -1), (2, 3)),
    ("repeat_interleave_0d", lambda lib, x: x.repeat_interleave(2), ()),
    ("swapaxes", lambda lib, x: lib.swapaxes(x, 0, 2), (2, 3, 4)),
    ("swapaxes_method", lambda lib, x: x.swapaxes(-1, 0), (2, 3)),
    ("swapdims", lambda lib, x: lib.swapdims(x, 1, 0), (2, 3)),
    ("swapdims_method", lambda lib, x: x.swapdims(0, 1), (2, 3)),
    ("permute_kw", lambda lib, x: lib.permute(x, dims=(2, 0, 1)), (2, 3, 4)),
    ("permute_method_kw", lambda lib, x: x.permute(dims=[1, 0]), (2, 3)),
    ("cat_axis", lambda lib, x: lib.cat([x, x * 2.0], axis=1), (2, 3)),
    ("concat_axis", lambda lib, x: lib.concat([x, x], axis=-1), (2, 3)),
    ("concatenate_axis", lambda lib, x: lib.concatenate((x, x.exp()), axis=0), (2, 3)),
    ("unfold", lambda lib, x: x.unfold(1, 2, 1), (2, 5)),
    ("unfold_step", lambda lib, x: x.unfold(0, 2, 2), (5, 3)),
    ("unfold_overlap_3d", lambda lib, x: x.unfold(-2, 3, 1), (2, 4, 3)),
    ("unfold_1d", lambda lib, x: x.unfold(0, 3, 2), (7,)),
    ("unfold_empty_window", lambda lib, x: x.unfold(1, 0, 1), (2, 3)),
    ("unfold_0d", lambda lib, x: x.unfold(0, 1, 1), ()),
]


@pytest.mark.parametrize("fn, shape", [c[1:] for c in NEW_SHAPE_OPS], ids=[c[0] for c in NEW_SHAPE_OPS])
def test_new_shape_op(fn, shape):
    _check_both(fn, rand(*shape, seed=4))


STACKS = [
    ("1d", [(3,), (2,)]),
    ("2d", [(2, 3), (2, 1)]),
    ("scalars", [(), ()]),
    ("mixed", [(), (1,)]),
    ("3d", [(2, 3, 2), (2, 3, 2)]),
]


@pytest.mark.parametrize("shapes", [c[1] for c in STACKS], ids=[c[0] for c in STACKS])
@pytest.mark.parametrize("op", ["hstack", "vstack", "column_stack"])
def test_stacking(op, shapes):
    arrays = [rand(*s, seed=i + 1) for i, s in enumerate(shapes)]
    if op == "vstack" and shapes[0] in ((2, 3), (3,)):  # rows must match in width: stack a copy instead
        arrays[1] = arrays[0] * 2
    if op == "column_stack" and shapes[0] == (3,):
        arrays[1] = arrays[0] * 2
    _check_both(lambda lib, *xs: getattr(lib, op)(list(xs)), *arrays)


def test_repeat_interleave_counts_alone():
    compare_with_torch(lambda lib, r: lib.repeat_interleave(r), np.array([2, 0, 3]))


PAD_CASES = [
    ("reflect_1d", (1, 2), "reflect", (2, 4)),
    ("reflect_1d_batched", (3, 0), "reflect", (2, 2, 4)),
    ("reflect_2d", (1, 2, 2, 1), "reflect", (2, 3, 4)),
    ("reflect_2d_batched", (0, 1, 2, 0), "reflect", (1, 2, 3, 3)),
    ("reflect_3d", (1, 1, 1, 0, 0, 1), "reflect", (1, 2, 2, 3)),
    ("reflect_crop", (-1, 2), "reflect", (2, 4)),
    ("replicate_1d", (2, 3), "replicate", (2, 3)),
    ("replicate_beyond_size", (5, 1), "replicate", (1, 2, 3)),
    ("replicate_2d", (1, 2, 3, 0), "replicate", (2, 2, 3)),
    ("replicate_3d", (1, 0, 0, 2, 1, 1), "replicate", (1, 1, 2, 2, 3)),
    ("replicate_crop", (2, -1, -1, 1), "replicate", (1, 3, 3)),
    ("circular_1d", (1, 2), "circular", (2, 3)),
    ("circular_full_size", (3, 3), "circular", (1, 2, 3)),
    ("circular_2d", (1, 2, 2, 1), "circular", (2, 3, 3)),
    ("circular_3d", (1, 1, 0, 2, 1, 0), "circular", (2, 2, 2, 3)),
    ("circular_crop", (-1, 2), "circular", (2, 4)),
]


@pytest.mark.parametrize("widths, mode, shape", [c[1:] for c in PAD_CASES], ids=[c[0] for c in PAD_CASES])
def test_pad_modes(widths, mode, shape):
    _check_both(lambda lib, x: F(lib).pad(x, widths, mode=mode), rand(*shape, seed=4))


def test_pad_module_level_function():
    compare_with_torch(lambda lib, x: F(lib).pad(x, (1, 1), "reflect"), rand(1, 2, 3, dtype=np.float32))
    compare_with_torch(lambda lib, x: F(lib).pad(x, (1, 1), "constant", 2.0), rand(2, 3, dtype=np.float32))


def test_pad_mode_errors():
    x = nerve.ones(1, 2, 3)
    with pytest.raises(ValueError, match=r"^pad: mode must be one of 'constant', 'reflect', 'replicate', 'circular', "
                                         r"got 'foo'$"):
        F(nerve).pad(x, (1, 1), mode="foo")
    with pytest.raises(ValueError, match=r"^pad: mode 'reflect' takes no value, got value=1.0$"):
        F(nerve).pad(x, (1, 1), mode="reflect", value=1.0)
    for mode, shape, widths in [("reflect", (3,), (1, 1)), ("replicate", (2, 3), (1, 1, 1, 1)),
                                ("circular", (1, 2, 3, 3), (1, 1)), ("reflect", (1, 1, 2, 2, 2, 2), (1,) * 8)]:
        shape_text = re.escape(str(shape))
        with pytest.raises(ValueError, match=rf"^pad: mode '{mode}' pads the last 1, 2 or 3 dims of a tensor with 1 "
                                             rf"or 2 more dims \(channels and an optional batch\), got {len(widths)} "
                                             rf"widths for shape {shape_text}$"):
            F(nerve).pad(nerve.ones(*shape), widths, mode=mode)
    with pytest.raises(ValueError, match=r"^pad: reflect widths must be less than the size of the dim they pad, got "
                                         r"\(3, 0\) for dim 2 of size 3 in shape \(1, 2, 3\)$"):
        F(nerve).pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"^pad: circular widths must be at most the size of the dim they pad \(it "
                                         r"wraps around once\), got \(0, 4\) for dim 2 of size 3"):
        F(nerve).pad(x, (0, 4), mode="circular")
    with pytest.raises(ValueError, match=r"^pad: mode 'replicate' cannot pad dim 2 of size 0 in shape \(1, 2, 0\)$"):
        F(nerve).pad(nerve.ones(1, 2, 0), (1, 1), mode="replicate")
    # torch rejects these too (same conditions, its own wording)
    for mode, widths in [("reflect", (3, 0)), ("circular", (0, 4))]:
        with pytest.raises(RuntimeError):
            torch.nn.functional.pad(torch.ones(1, 2, 3), widths, mode=mode)


def test_new_shape_op_errors():
    x = nerve.ones(2, 3)
    with pytest.raises(ValueError, match=r"^roll: shifts and dims must have the same length, got shifts=\(1, 2\) and "
                                         r"dims=\(0,\)$"):
        nerve.roll(x, (1, 2), (0,))
    with pytest.raises(ValueError, match=r"^roll: without dims, expected one shift, got shifts=\(1, 2\)$"):
        x.roll((1, 2))
    with pytest.raises(IndexError, match=r"^roll: dim 5 is out of range"):
        x.roll(1, 5)
    with pytest.raises(ValueError, match=r"^narrow: start \(2\) \+ length \(2\) exceeds the size 3 of dim 1$"):
        x.narrow(1, 2, 2)
    with pytest.raises(IndexError, match=r"^narrow: start -4 is out of range for dim 1 of size 3 \(expected -3..3\)$"):
        nerve.narrow(x, 1, -4, 1)
    with pytest.raises(ValueError, match=r"^narrow: length must be non-negative, got -1$"):
        x.narrow(0, 0, -1)
    with pytest.raises(ValueError, match=r"^repeat_interleave: repeats has 2 counts but dim 1 of the input has size 3; "
                                         "give one count or one per element$"):
        x.repeat_interleave(nerve.tensor([1, 2]), 1)
    with pytest.raises(ValueError, match=r"^repeat_interleave: repeats must be non-negative, got \[1, -2, 1\]$"):
        x.repeat_interleave(nerve.tensor([1, -2, 1]), 1)
    with pytest.raises(ValueError, match=r"^repeat_interleave: repeats must be non-negative, got \[-1\]$"):
        x.repeat_interleave(-1)
    with pytest.raises(TypeError, match=r"^repeat_interleave: repeats must be an integer tensor, got float32$"):
        x.repeat_interleave(nerve.tensor([2.0]), 0)
    with pytest.raises(ValueError, match=r"^repeat_interleave: repeats must be 0-D or 1-D, got shape \(1, 2\)$"):
        x.repeat_interleave(nerve.tensor([[1, 2]]), 0)
    with pytest.raises(ValueError, match=r"^repeat_interleave: a lone argument must be a 1-D integer tensor of counts"):
        nerve.repeat_interleave(x)
    with pytest.raises(ValueError, match=r"^unfold: size 4 must be in 0..3, the size of dim 1$"):
        x.unfold(1, 4, 1)
    with pytest.raises(ValueError, match=r"^unfold: step must be positive, got 0$"):
        x.unfold(1, 2, 0)
    with pytest.raises(ValueError, match=r"^hstack: expected a non-empty sequence of tensors$"):
        nerve.hstack([])
    with pytest.raises(ValueError, match=r"^cat: tensor 1 has shape \(1, 3\) but tensor 0 has shape \(1, 2\)"):
        nerve.vstack([nerve.ones(2), nerve.ones(3)])
    with pytest.raises(TypeError, match=r"^permute: got dims both positionally \(1, 0\) and as dims=\(1, 0\)$"):
        x.permute(1, 0, dims=(1, 0))
    with pytest.raises(TypeError, match=r"^cat: got both dim=1 and axis=0; pass one of them$"):
        nerve.cat([x, x], 1, axis=0)


@pytest.mark.parametrize("widths, mode", [((-1, 3), "reflect"), ((2, -1), "circular"), ((-2, 3), "replicate"),
                                          ((-1, 2), "circular"), ((1, -2), "reflect")], ids=str)
def test_pad_modes_crop_like_torch(widths, mode):
    _check_both(lambda lib, x: F(lib).pad(x, widths, mode=mode), rand(1, 2, 4, seed=4))
