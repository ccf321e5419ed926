//go:build !purego

#include "textflag.h"

// The AVX2 + FMA forms of the two kernels of gemm_amd64.s, for x86 CPUs without
// AVX-512. AVX2 has 16 vector registers of 8 floats, so the 8x48 tile is computed as
// four 4x24 tiles (12 accumulators, 3 B vectors, 1 broadcast) and the 4x4 dot tile as
// two 4x2 ones (8 accumulators, 4 A and 2 B vectors).

// ROW4 adds A's row i (a broadcast of the packed panel's element) times B's 24
// columns to the row's three accumulators.
#define ROW4(i, y0, y1, y2) \
	VBROADCASTSS (i*4)(AX), Y15; \
	VFMADD231PS  Y15, Y12, y0; \
	VFMADD231PS  Y15, Y13, y1; \
	VFMADD231PS  Y15, Y14, y2

// OUT4 writes one row of accumulators to C at DX (adding what is there when acc is
// set) and moves DX to the next row.
#define OUT4(y0, y1, y2) \
	TESTQ   R11, R11; \
	JZ      4(PC); \
	VADDPS  (DX), y0, y0; \
	VADDPS  32(DX), y1, y1; \
	VADDPS  64(DX), y2, y2; \
	VMOVUPS y0, (DX); \
	VMOVUPS y1, 32(DX); \
	VMOVUPS y2, 64(DX); \
	ADDQ    BX, DX

// func kern4x24avx2(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool)
//
// C[i][j] (+)= sum over r<k of a[r*8+i] * b[off[r]+j], for i<4, j<24: a points into an
// 8-row panel packed r-major (so its rows are 8 floats apart per r), c has rows ldc
// floats apart.
TEXT ·kern4x24avx2(SB), NOSPLIT, $0-49
	MOVQ    k+0(FP), CX
	MOVQ    a+8(FP), AX
	MOVQ    b+16(FP), SI
	MOVQ    off+24(FP), DI
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	VXORPS  Y2, Y2, Y2
	VXORPS  Y3, Y3, Y3
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
	VXORPS  Y10, Y10, Y10
	VXORPS  Y11, Y11, Y11
	TESTQ   CX, CX
	JZ      store

loop:
	MOVLQSX (DI), R9
	LEAQ    (SI)(R9*4), R10
	VMOVUPS (R10), Y12
	VMOVUPS 32(R10), Y13
	VMOVUPS 64(R10), Y14
	ROW4(0, Y0, Y1, Y2)
	ROW4(1, Y3, Y4, Y5)
	ROW4(2, Y6, Y7, Y8)
	ROW4(3, Y9, Y10, Y11)
	ADDQ    $32, AX
	ADDQ    $4, DI
	DECQ    CX
	JNZ     loop

store:
	MOVQ    c+32(FP), DX
	MOVQ    ldc+40(FP), BX
	SHLQ    $2, BX
	MOVBQZX acc+48(FP), R11
	OUT4(Y0, Y1, Y2)
	OUT4(Y3, Y4, Y5)
	OUT4(Y6, Y7, Y8)
	OUT4(Y9, Y10, Y11)
	VZEROUPPER
	RET

// DOT2 adds A row vector ya times B's two row vectors to two accumulators.
#define DOT2(ya, c0, c1) \
	VFMADD231PS Y12, ya, c0; \
	VFMADD231PS Y13, ya, c1

// SUM8 adds the 8 lanes of accumulator y (with x its lower half) to the float at m.
#define SUM8(y, x, m) \
	VEXTRACTF128 $1, y, X14; \
	VADDPS       X14, x, x; \
	VHADDPS      x, x, x; \
	VHADDPS      x, x, x; \
	VADDSS       m, x, x; \
	VMOVSS       x, m

// func dot4x2avx2(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int)
//
// C[i][j] += sum over s<samples, p<n of a[s*sa+i*lda+p] * b[s*sb+off[j]+p], for i<4,
// j<2. n is a multiple of 8 and at least 8.
TEXT ·dot4x2avx2(SB), NOSPLIT, $0-80
	MOVQ    a+16(FP), R8
	MOVQ    lda+24(FP), BX
	SHLQ    $2, BX
	LEAQ    (R8)(BX*1), R9
	LEAQ    (R9)(BX*1), R10
	LEAQ    (R10)(BX*1), R11
	MOVQ    b+40(FP), SI
	MOVQ    off+48(FP), DI
	MOVLQSX (DI), R12
	LEAQ    (SI)(R12*4), R12
	MOVLQSX 4(DI), R13
	LEAQ    (SI)(R13*4), R13
	MOVQ    sa+32(FP), BX
	SHLQ    $2, BX
	MOVQ    sb+56(FP), SI
	SHLQ    $2, SI
	MOVQ    n+0(FP), CX
	SHLQ    $2, CX
	MOVQ    samples+8(FP), DX
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	VXORPS  Y2, Y2, Y2
	VXORPS  Y3, Y3, Y3
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	TESTQ   CX, CX
	JZ      sum
	TESTQ   DX, DX
	JZ      sum

sample:
	XORQ    AX, AX

inner:
	VMOVUPS (R8)(AX*1), Y8
	VMOVUPS (R9)(AX*1), Y9
	VMOVUPS (R10)(AX*1), Y10
	VMOVUPS (R11)(AX*1), Y11
	VMOVUPS (R12)(AX*1), Y12
	VMOVUPS (R13)(AX*1), Y13
	DOT2(Y8, Y0, Y1)
	DOT2(Y9, Y2, Y3)
	DOT2(Y10, Y4, Y5)
	DOT2(Y11, Y6, Y7)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     inner
	ADDQ    BX, R8
	ADDQ    BX, R9
	ADDQ    BX, R10
	ADDQ    BX, R11
	ADDQ    SI, R12
	ADDQ    SI, R13
	DECQ    DX
	JNZ     sample

sum:
	MOVQ    c+64(FP), DI
	MOVQ    ldc+72(FP), BX
	SHLQ    $2, BX
	SUM8(Y0, X0, (DI))
	SUM8(Y1, X1, 4(DI))
	ADDQ    BX, DI
	SUM8(Y2, X2, (DI))
	SUM8(Y3, X3, 4(DI))
	ADDQ    BX, DI
	SUM8(Y4, X4, (DI))
	SUM8(Y5, X5, 4(DI))
	ADDQ    BX, DI
	SUM8(Y6, X6, (DI))
	SUM8(Y7, X7, 4(DI))
	VZEROUPPER
	RET
