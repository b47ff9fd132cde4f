using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Streaming.Features;

/// <summary>
/// The lane-wise arithmetic <see cref="LaneFft"/> needs, so one transform serves 256-bit and 512-bit
/// vectors (the runtime's own ISimdVector is not public). Every operation is per lane, the same
/// instruction at either width, so a lane's result does not depend on the width.
/// </summary>
internal interface ILaneVector<TSelf> where TSelf : unmanaged, ILaneVector<TSelf>
{
    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);

    /// <summary>The value in every lane.</summary>
    static abstract TSelf Broadcast(float value);

    /// <summary>a·b + c with one rounding (fused).</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);
}

/// <summary>Eight lanes: the width every machine of this kind has (AVX2 + FMA).</summary>
internal readonly struct Lanes256(Vector256<float> value) : ILaneVector<Lanes256>
{
    public Vector256<float> Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator +(Lanes256 a, Lanes256 b) => new(a.Value + b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 a, Lanes256 b) => new(a.Value - b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator *(Lanes256 a, Lanes256 b) => new(a.Value * b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Broadcast(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 MultiplyAdd(Lanes256 a, Lanes256 b, Lanes256 c) => new(Vector256.FusedMultiplyAdd(a.Value, b.Value, c.Value));
}

/// <summary>Sixteen lanes, only where <see cref="Vector512.IsHardwareAccelerated"/> (AVX-512, e.g. Zen 4; not Zen 3).</summary>
internal readonly struct Lanes512(Vector512<float> value) : ILaneVector<Lanes512>
{
    public Vector512<float> Value { get; } = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator +(Lanes512 a, Lanes512 b) => new(a.Value + b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 a, Lanes512 b) => new(a.Value - b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator *(Lanes512 a, Lanes512 b) => new(a.Value * b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Broadcast(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 MultiplyAdd(Lanes512 a, Lanes512 b, Lanes512 c) => new(Vector512.FusedMultiplyAdd(a.Value, b.Value, c.Value));
}
