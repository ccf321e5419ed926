//go:build !purego

#include "textflag.h"

// The two matrix kernels behind the AVX-512 convolutions (see kernels.go). Both read
// the rows of their B operand through a table of offsets, which is what lets a
// stride-1 convolution multiply straight out of its zero-padded input, without im2col.

// ZERO4 zeroes four accumulators.
#define ZERO4(a, b, c, d) \
	VPXORD a, a, a; \
	VPXORD b, b, b; \
	VPXORD c, c, c; \
	VPXORD d, d, d

// ROW8 adds A's row i (a broadcast of the packed panel's element) times B's 48
// columns to the row's three accumulators.
#define ROW8(i, z0, z1, z2) \
	VBROADCASTSS (i*4)(AX), Z27; \
	VFMADD231PS  Z27, Z24, z0; \
	VFMADD231PS  Z27, Z25, z1; \
	VFMADD231PS  Z27, Z26, z2

// OUT8 writes one row of accumulators to C at DX (adding what is there when acc is
// set) and moves DX to the next row.
#define OUT8(z0, z1, z2) \
	TESTQ   R11, R11; \
	JZ      4(PC); \
	VADDPS  (DX), z0, z0; \
	VADDPS  64(DX), z1, z1; \
	VADDPS  128(DX), z2, z2; \
	VMOVUPS z0, (DX); \
	VMOVUPS z1, 64(DX); \
	VMOVUPS z2, 128(DX); \
	ADDQ    BX, DX

// func kern8x48avx512(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool)
//
// C[i][j] (+)= sum over r<k of A[r][i] * b[off[r]+j], for i<8, j<48: a is an 8-row
// panel packed r-major (a[r*8+i]), c has rows ldc floats apart.
TEXT ·kern8x48avx512(SB), NOSPLIT, $0-49
	MOVQ    k+0(FP), CX
	MOVQ    a+8(FP), AX
	MOVQ    b+16(FP), SI
	MOVQ    off+24(FP), DI
	ZERO4(Z0, Z1, Z2, Z3)
	ZERO4(Z4, Z5, Z6, Z7)
	ZERO4(Z8, Z9, Z10, Z11)
	ZERO4(Z12, Z13, Z14, Z15)
	ZERO4(Z16, Z17, Z18, Z19)
	ZERO4(Z20, Z21, Z22, Z23)
	TESTQ   CX, CX
	JZ      store

loop:
	MOVLQSX (DI), R9
	LEAQ    (SI)(R9*4), R10
	VMOVUPS (R10), Z24
	VMOVUPS 64(R10), Z25
	VMOVUPS 128(R10), Z26
	ROW8(0, Z0, Z1, Z2)
	ROW8(1, Z3, Z4, Z5)
	ROW8(2, Z6, Z7, Z8)
	ROW8(3, Z9, Z10, Z11)
	ROW8(4, Z12, Z13, Z14)
	ROW8(5, Z15, Z16, Z17)
	ROW8(6, Z18, Z19, Z20)
	ROW8(7, Z21, Z22, Z23)
	ADDQ    $32, AX
	ADDQ    $4, DI
	DECQ    CX
	JNZ     loop

store:
	MOVQ    c+32(FP), DX
	MOVQ    ldc+40(FP), BX
	SHLQ    $2, BX
	MOVBQZX acc+48(FP), R11
	OUT8(Z0, Z1, Z2)
	OUT8(Z3, Z4, Z5)
	OUT8(Z6, Z7, Z8)
	OUT8(Z9, Z10, Z11)
	OUT8(Z12, Z13, Z14)
	OUT8(Z15, Z16, Z17)
	OUT8(Z18, Z19, Z20)
	OUT8(Z21, Z22, Z23)
	VZEROUPPER
	RET

// DOTROW adds A row vector za times B's four row vectors to four accumulators.
#define DOTROW(za, c0, c1, c2, c3) \
	VFMADD231PS Z20, za, c0; \
	VFMADD231PS Z21, za, c1; \
	VFMADD231PS Z22, za, c2; \
	VFMADD231PS Z23, za, c3

// SUM adds the 16 lanes of accumulator z (with y and x its lower halves) to the float
// at m.
#define SUM(z, y, x, m) \
	VEXTRACTF64X4 $1, z, Y16; \
	VADDPS        Y16, y, y; \
	VEXTRACTF32X4 $1, y, X16; \
	VADDPS        X16, x, x; \
	VHADDPS       x, x, x; \
	VHADDPS       x, x, x; \
	VADDSS        m, x, x; \
	VMOVSS        x, m

// func dot4x4avx512(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int)
//
// C[i][j] += sum over s<samples, p<n of a[s*sa+i*lda+p] * b[s*sb+off[j]+p], for
// i, j < 4. n is a multiple of 16 and at least 16.
TEXT ·dot4x4avx512(SB), NOSPLIT, $0-80
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
	MOVLQSX 8(DI), R14
	LEAQ    (SI)(R14*4), R14
	MOVLQSX 12(DI), R15
	LEAQ    (SI)(R15*4), R15
	MOVQ    sa+32(FP), BX
	SHLQ    $2, BX
	MOVQ    sb+56(FP), SI
	SHLQ    $2, SI
	MOVQ    n+0(FP), CX
	SHLQ    $2, CX
	MOVQ    samples+8(FP), DX
	ZERO4(Z0, Z1, Z2, Z3)
	ZERO4(Z4, Z5, Z6, Z7)
	ZERO4(Z8, Z9, Z10, Z11)
	ZERO4(Z12, Z13, Z14, Z15)
	TESTQ   CX, CX
	JZ      sum
	TESTQ   DX, DX
	JZ      sum

sample:
	XORQ    AX, AX

inner:
	VMOVUPS (R8)(AX*1), Z16
	VMOVUPS (R9)(AX*1), Z17
	VMOVUPS (R10)(AX*1), Z18
	VMOVUPS (R11)(AX*1), Z19
	VMOVUPS (R12)(AX*1), Z20
	VMOVUPS (R13)(AX*1), Z21
	VMOVUPS (R14)(AX*1), Z22
	VMOVUPS (R15)(AX*1), Z23
	DOTROW(Z16, Z0, Z1, Z2, Z3)
	DOTROW(Z17, Z4, Z5, Z6, Z7)
	DOTROW(Z18, Z8, Z9, Z10, Z11)
	DOTROW(Z19, Z12, Z13, Z14, Z15)
	ADDQ    $64, AX
	CMPQ    AX, CX
	JLT     inner
	ADDQ    BX, R8
	ADDQ    BX, R9
	ADDQ    BX, R10
	ADDQ    BX, R11
	ADDQ    SI, R12
	ADDQ    SI, R13
	ADDQ    SI, R14
	ADDQ    SI, R15
	DECQ    DX
	JNZ     sample

sum:
	MOVQ    c+64(FP), DI
	MOVQ    ldc+72(FP), BX
	SHLQ    $2, BX
	SUM(Z0, Y0, X0, (DI))
	SUM(Z1, Y1, X1, 4(DI))
	SUM(Z2, Y2, X2, 8(DI))
	SUM(Z3, Y3, X3, 12(DI))
	ADDQ    BX, DI
	SUM(Z4, Y4, X4, (DI))
	SUM(Z5, Y5, X5, 4(DI))
	SUM(Z6, Y6, X6, 8(DI))
	SUM(Z7, Y7, X7, 12(DI))
	ADDQ    BX, DI
	SUM(Z8, Y8, X8, (DI))
	SUM(Z9, Y9, X9, 4(DI))
	SUM(Z10, Y10, X10, 8(DI))
	SUM(Z11, Y11, X11, 12(DI))
	ADDQ    BX, DI
	SUM(Z12, Y12, X12, (DI))
	SUM(Z13, Y13, X13, 4(DI))
	SUM(Z14, Y14, X14, 8(DI))
	SUM(Z15, Y15, X15, 12(DI))
	VZEROUPPER
	RET
