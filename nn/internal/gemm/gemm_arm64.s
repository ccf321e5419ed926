//go:build !purego

#include "textflag.h"

// The NEON forms of the two kernels of gemm_amd64.s, for arm64 (Apple Silicon,
// Graviton). NEON has 32 vector registers of 4 floats: the 8x48 tile is computed as
// four 8x12 tiles (24 accumulators, 3 B vectors, 1 broadcast), and the 4x4 dot tile
// leaves its 16 vector sums to Go to add up (Go's assembler has no FADDP). An
// accumulating product starts from C instead of zero (no FADD either).

// ROW12 adds A's next element (broadcast; the pointer moves on) times B's 12
// columns to one row's three accumulators.
#define ROW12(v0, v1, v2) \
	VLD1R.P 4(R1), [V27.S4]; \
	VFMLA   V27.S4, V24.S4, v0; \
	VFMLA   V27.S4, V25.S4, v1; \
	VFMLA   V27.S4, V26.S4, v2

// func kern8x12neon(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool)
//
// C[i][j] (+)= sum over r<k of a[r*8+i] * b[off[r]+j], for i<8, j<12: a is an 8-row
// panel packed r-major, c has rows ldc floats apart.
TEXT ·kern8x12neon(SB), NOSPLIT, $0-49
	MOVD    k+0(FP), R4
	MOVD    a+8(FP), R1
	MOVD    b+16(FP), R2
	MOVD    off+24(FP), R3
	MOVD    c+32(FP), R5
	MOVD    ldc+40(FP), R6
	LSL     $2, R6, R6
	MOVBU   acc+48(FP), R7
	CBZ     R7, zero
	MOVD    R5, R8
	VLD1    (R8), [V0.S4, V1.S4, V2.S4]
	ADD     R6, R8, R8
	VLD1    (R8), [V3.S4, V4.S4, V5.S4]
	ADD     R6, R8, R8
	VLD1    (R8), [V6.S4, V7.S4, V8.S4]
	ADD     R6, R8, R8
	VLD1    (R8), [V9.S4, V10.S4, V11.S4]
	ADD     R6, R8, R8
	VLD1    (R8), [V12.S4, V13.S4, V14.S4]
	ADD     R6, R8, R8
	VLD1    (R8), [V15.S4, V16.S4, V17.S4]
	ADD     R6, R8, R8
	VLD1    (R8), [V18.S4, V19.S4, V20.S4]
	ADD     R6, R8, R8
	VLD1    (R8), [V21.S4, V22.S4, V23.S4]
	B       start

zero:
	VEOR    V0.B16, V0.B16, V0.B16
	VEOR    V1.B16, V1.B16, V1.B16
	VEOR    V2.B16, V2.B16, V2.B16
	VEOR    V3.B16, V3.B16, V3.B16
	VEOR    V4.B16, V4.B16, V4.B16
	VEOR    V5.B16, V5.B16, V5.B16
	VEOR    V6.B16, V6.B16, V6.B16
	VEOR    V7.B16, V7.B16, V7.B16
	VEOR    V8.B16, V8.B16, V8.B16
	VEOR    V9.B16, V9.B16, V9.B16
	VEOR    V10.B16, V10.B16, V10.B16
	VEOR    V11.B16, V11.B16, V11.B16
	VEOR    V12.B16, V12.B16, V12.B16
	VEOR    V13.B16, V13.B16, V13.B16
	VEOR    V14.B16, V14.B16, V14.B16
	VEOR    V15.B16, V15.B16, V15.B16
	VEOR    V16.B16, V16.B16, V16.B16
	VEOR    V17.B16, V17.B16, V17.B16
	VEOR    V18.B16, V18.B16, V18.B16
	VEOR    V19.B16, V19.B16, V19.B16
	VEOR    V20.B16, V20.B16, V20.B16
	VEOR    V21.B16, V21.B16, V21.B16
	VEOR    V22.B16, V22.B16, V22.B16
	VEOR    V23.B16, V23.B16, V23.B16

start:
	CBZ     R4, store

loop:
	MOVW    (R3), R9 // off[r], sign-extended
	ADD     $4, R3
	ADD     R9<<2, R2, R10
	VLD1    (R10), [V24.S4, V25.S4, V26.S4]
	ROW12(V0.S4, V1.S4, V2.S4)
	ROW12(V3.S4, V4.S4, V5.S4)
	ROW12(V6.S4, V7.S4, V8.S4)
	ROW12(V9.S4, V10.S4, V11.S4)
	ROW12(V12.S4, V13.S4, V14.S4)
	ROW12(V15.S4, V16.S4, V17.S4)
	ROW12(V18.S4, V19.S4, V20.S4)
	ROW12(V21.S4, V22.S4, V23.S4)
	SUB     $1, R4
	CBNZ    R4, loop

store:
	VST1    [V0.S4, V1.S4, V2.S4], (R5)
	ADD     R6, R5, R5
	VST1    [V3.S4, V4.S4, V5.S4], (R5)
	ADD     R6, R5, R5
	VST1    [V6.S4, V7.S4, V8.S4], (R5)
	ADD     R6, R5, R5
	VST1    [V9.S4, V10.S4, V11.S4], (R5)
	ADD     R6, R5, R5
	VST1    [V12.S4, V13.S4, V14.S4], (R5)
	ADD     R6, R5, R5
	VST1    [V15.S4, V16.S4, V17.S4], (R5)
	ADD     R6, R5, R5
	VST1    [V18.S4, V19.S4, V20.S4], (R5)
	ADD     R6, R5, R5
	VST1    [V21.S4, V22.S4, V23.S4], (R5)
	RET

// DOTROW adds A row vector va times B's four row vectors to four accumulators.
#define DOTROW(va, c0, c1, c2, c3) \
	VFMLA V20.S4, va, c0; \
	VFMLA V21.S4, va, c1; \
	VFMLA V22.S4, va, c2; \
	VFMLA V23.S4, va, c3

// func dot4x4neon(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, out *float32)
//
// out[(i*4+j)*4 + lane] = the lane's part of sum over s<samples, p<n of
// a[s*sa+i*lda+p] * b[s*sb+off[j]+p], for i, j < 4: Go adds the four lanes. n is a
// multiple of 4 and at least 4.
TEXT ·dot4x4neon(SB), NOSPLIT, $0-72
	MOVD    a+16(FP), R8
	MOVD    lda+24(FP), R0
	LSL     $2, R0, R0
	ADD     R0, R8, R9
	ADD     R0, R9, R10
	ADD     R0, R10, R11
	MOVD    b+40(FP), R1
	MOVD    off+48(FP), R2
	MOVW    (R2), R3
	ADD     R3<<2, R1, R12
	MOVW    4(R2), R3
	ADD     R3<<2, R1, R13
	MOVW    8(R2), R3
	ADD     R3<<2, R1, R14
	MOVW    12(R2), R3
	ADD     R3<<2, R1, R15
	MOVD    sa+32(FP), R0
	LSL     $2, R0, R0
	MOVD    sb+56(FP), R1
	LSL     $2, R1, R1
	MOVD    n+0(FP), R4
	MOVD    samples+8(FP), R5
	VEOR    V0.B16, V0.B16, V0.B16
	VEOR    V1.B16, V1.B16, V1.B16
	VEOR    V2.B16, V2.B16, V2.B16
	VEOR    V3.B16, V3.B16, V3.B16
	VEOR    V4.B16, V4.B16, V4.B16
	VEOR    V5.B16, V5.B16, V5.B16
	VEOR    V6.B16, V6.B16, V6.B16
	VEOR    V7.B16, V7.B16, V7.B16
	VEOR    V8.B16, V8.B16, V8.B16
	VEOR    V9.B16, V9.B16, V9.B16
	VEOR    V10.B16, V10.B16, V10.B16
	VEOR    V11.B16, V11.B16, V11.B16
	VEOR    V12.B16, V12.B16, V12.B16
	VEOR    V13.B16, V13.B16, V13.B16
	VEOR    V14.B16, V14.B16, V14.B16
	VEOR    V15.B16, V15.B16, V15.B16
	CBZ     R4, sum
	CBZ     R5, sum

sample:
	MOVD    R8, R16
	MOVD    R9, R17
	MOVD    R10, R19
	MOVD    R11, R20
	MOVD    R12, R21
	MOVD    R13, R22
	MOVD    R14, R23
	MOVD    R15, R24
	MOVD    R4, R6

inner:
	VLD1.P  16(R16), [V16.S4]
	VLD1.P  16(R17), [V17.S4]
	VLD1.P  16(R19), [V18.S4]
	VLD1.P  16(R20), [V19.S4]
	VLD1.P  16(R21), [V20.S4]
	VLD1.P  16(R22), [V21.S4]
	VLD1.P  16(R23), [V22.S4]
	VLD1.P  16(R24), [V23.S4]
	DOTROW(V16.S4, V0.S4, V1.S4, V2.S4, V3.S4)
	DOTROW(V17.S4, V4.S4, V5.S4, V6.S4, V7.S4)
	DOTROW(V18.S4, V8.S4, V9.S4, V10.S4, V11.S4)
	DOTROW(V19.S4, V12.S4, V13.S4, V14.S4, V15.S4)
	SUB     $4, R6
	CBNZ    R6, inner
	ADD     R0, R8
	ADD     R0, R9
	ADD     R0, R10
	ADD     R0, R11
	ADD     R1, R12
	ADD     R1, R13
	ADD     R1, R14
	ADD     R1, R15
	SUB     $1, R5
	CBNZ    R5, sample

sum:
	MOVD    out+64(FP), R7
	VST1.P  [V0.S4, V1.S4, V2.S4, V3.S4], 64(R7)
	VST1.P  [V4.S4, V5.S4, V6.S4, V7.S4], 64(R7)
	VST1.P  [V8.S4, V9.S4, V10.S4, V11.S4], 64(R7)
	VST1.P  [V12.S4, V13.S4, V14.S4, V15.S4], 64(R7)
	RET
