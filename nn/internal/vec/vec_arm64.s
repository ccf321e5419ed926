//go:build !purego

#include "textflag.h"

// The NEON forms of vec_amd64.s's loops, for arm64: the same operations on 16 floats
// an iteration (four vectors of 4); n is a multiple of 16 and at least 16. Go's
// assembler has the loads, stores and FMLA but none of NEON's other float
// instructions, which are written out as WORDs (Arm ARM encodings; `go tool objdump`
// of an arm64 build shows them decoded). d, n and m are vector register numbers.

// FADD Vd.4S, Vn.4S, Vm.4S
#define FADD4S(d, n, m) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
// FMAX Vd.4S, Vn.4S, Vm.4S: NaN if either is NaN
#define FMAX4S(d, n, m) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
// FCMLE Vd.4S, Vn.4S, #0.0: all ones where n <= 0 (not where n is NaN)
#define FCMLEZ4S(d, n) WORD $(0x6EA0D800 | ((n)<<5) | (d))
// BIC Vd.16B, Vn.16B, Vm.16B: n AND NOT m
#define BIC16B(d, n, m) WORD $(0x4E601C00 | ((m)<<16) | ((n)<<5) | (d))
// FCVTL Vd.2D, Vn.2S and FCVTL2 Vd.2D, Vn.4S: the low and high two floats as doubles
#define FCVTL(d, n) WORD $(0x0E617800 | ((n)<<5) | (d))
#define FCVTL2(d, n) WORD $(0x4E617800 | ((n)<<5) | (d))
// FADD Vd.2D, Vn.2D, Vm.2D and FMLA Vd.2D, Vn.2D, Vm.2D (d += n*m)
#define FADD2D(d, n, m) WORD $(0x4E60D400 | ((m)<<16) | ((n)<<5) | (d))
#define FMLA2D(d, n, m) WORD $(0x4E60CC00 | ((m)<<16) | ((n)<<5) | (d))
// FADDP Vd.4S, Vn.4S, Vm.4S (pairwise), FADDP Sd, Vn.2S and FADDP Dd, Vn.2D
#define FADDP4S(d, n, m) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
#define FADDPS(d, n) WORD $(0x7E30D800 | ((n)<<5) | (d))
#define FADDPD(d, n) WORD $(0x7E70D800 | ((n)<<5) | (d))

// ACC4(s) sets the accumulators V4-V7 to vector s; FMA4(k, x0, x1, x2, x3) adds k
// times x0-x3 to them, fused.
#define ACC4(s) \
	VORR s.B16, s.B16, V4.B16; \
	VORR s.B16, s.B16, V5.B16; \
	VORR s.B16, s.B16, V6.B16; \
	VORR s.B16, s.B16, V7.B16
#define FMA4(k, x0, x1, x2, x3) \
	VFMLA k.S4, x0.S4, V4.S4; \
	VFMLA k.S4, x1.S4, V5.S4; \
	VFMLA k.S4, x2.S4, V6.S4; \
	VFMLA k.S4, x3.S4, V7.S4

// func relu(y, x *float32, n int)
TEXT ·relu(SB), NOSPLIT, $0-24
	MOVD y+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V31.B16, V31.B16, V31.B16

reluLoop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMAX4S(4, 0, 31)
	FMAX4S(5, 1, 31)
	FMAX4S(6, 2, 31)
	FMAX4S(7, 3, 31)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)
	SUBS   $16, R2, R2
	BNE    reluLoop
	RET

// func reluGrad(dx, x, dy *float32, n int)
TEXT ·reluGrad(SB), NOSPLIT, $0-32
	MOVD dx+0(FP), R0
	MOVD x+8(FP), R1
	MOVD dy+16(FP), R3
	MOVD n+24(FP), R2

reluGradLoop:
	VLD1.P   64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P   64(R3), [V4.S4, V5.S4, V6.S4, V7.S4]
	FCMLEZ4S(8, 0)
	FCMLEZ4S(9, 1)
	FCMLEZ4S(10, 2)
	FCMLEZ4S(11, 3)
	BIC16B(12, 4, 8)
	BIC16B(13, 5, 9)
	BIC16B(14, 6, 10)
	BIC16B(15, 7, 11)
	VST1.P   [V12.S4, V13.S4, V14.S4, V15.S4], 64(R0)
	SUBS     $16, R2, R2
	BNE      reluGradLoop
	RET

// func add(y, a, b *float32, n int)
TEXT ·add(SB), NOSPLIT, $0-32
	MOVD y+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R3
	MOVD n+24(FP), R2

addLoop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R3), [V4.S4, V5.S4, V6.S4, V7.S4]
	FADD4S(8, 0, 4)
	FADD4S(9, 1, 5)
	FADD4S(10, 2, 6)
	FADD4S(11, 3, 7)
	VST1.P [V8.S4, V9.S4, V10.S4, V11.S4], 64(R0)
	SUBS   $16, R2, R2
	BNE    addLoop
	RET

// func affine(y, x *float32, n int, a, b float32): y = a*x + b, fused
TEXT ·affine(SB), NOSPLIT, $0-32
	MOVD  y+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  n+16(FP), R2
	MOVD  $a+24(FP), R4
	VLD1R (R4), [V30.S4]
	MOVD  $b+28(FP), R4
	VLD1R (R4), [V31.S4]

affineLoop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	ACC4(V31)
	FMA4(V30, V0, V1, V2, V3)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)
	SUBS   $16, R2, R2
	BNE    affineLoop
	RET

// func affine2(y, x, d *float32, n int, a, b, c float32): y = a*d + (b*x + c), fused
TEXT ·affine2(SB), NOSPLIT, $0-44
	MOVD  y+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  d+16(FP), R3
	MOVD  n+24(FP), R2
	MOVD  $a+32(FP), R4
	VLD1R (R4), [V29.S4]
	MOVD  $b+36(FP), R4
	VLD1R (R4), [V30.S4]
	MOVD  $c+40(FP), R4
	VLD1R (R4), [V31.S4]

affine2Loop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R3), [V8.S4, V9.S4, V10.S4, V11.S4]
	ACC4(V31)
	FMA4(V30, V0, V1, V2, V3)
	FMA4(V29, V8, V9, V10, V11)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)
	SUBS   $16, R2, R2
	BNE    affine2Loop
	RET

// SUMS4 adds vector a (of a) and b (of b), as doubles, to the sums: V16-V17 sum a,
// V18-V19 sum a*b (the low and the high two lanes).
#define SUMS4(a, b) \
	FCVTL(20, a); \
	FCVTL2(21, a); \
	FCVTL(22, b); \
	FCVTL2(23, b); \
	FADD2D(16, 16, 20); \
	FADD2D(17, 17, 21); \
	FMLA2D(18, 20, 22); \
	FMLA2D(19, 21, 23)

// func sums(a, b *float32, n int) (sa, sab float64)
TEXT ·sums(SB), NOSPLIT, $0-40
	MOVD a+0(FP), R1
	MOVD b+8(FP), R3
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16

sumsLoop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R3), [V4.S4, V5.S4, V6.S4, V7.S4]
	SUMS4(0, 4)
	SUMS4(1, 5)
	SUMS4(2, 6)
	SUMS4(3, 7)
	SUBS   $16, R2, R2
	BNE    sumsLoop
	FADD2D(16, 16, 17)
	FADDPD(16, 16)
	FMOVD  F16, sa+24(FP)
	FADD2D(18, 18, 19)
	FADDPD(18, 18)
	FMOVD  F18, sab+32(FP)
	RET

// func axpy(y, x *float32, n int, a float32): y += a*x, fused
TEXT ·axpy(SB), NOSPLIT, $0-28
	MOVD  y+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  n+16(FP), R2
	MOVD  $a+24(FP), R4
	VLD1R (R4), [V30.S4]
	MOVD  R0, R3

axpyLoop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R3), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMA4(V30, V0, V1, V2, V3)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)
	SUBS   $16, R2, R2
	BNE    axpyLoop
	RET

// func dot(x, y *float32, n int) float32: in four vector sums, added up at the end
TEXT ·dot(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R1
	MOVD y+8(FP), R3
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16

dotLoop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R3), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA  V4.S4, V0.S4, V16.S4
	VFMLA  V5.S4, V1.S4, V17.S4
	VFMLA  V6.S4, V2.S4, V18.S4
	VFMLA  V7.S4, V3.S4, V19.S4
	SUBS   $16, R2, R2
	BNE    dotLoop
	FADD4S(16, 16, 17)
	FADD4S(18, 18, 19)
	FADD4S(16, 16, 18)
	FADDP4S(16, 16, 16)
	FADDPS(16, 16)
	FMOVS  F16, ret+24(FP)
	RET
