//go:build !purego

#include "textflag.h"

// Element-wise AVX-512 loops over n floats, n a multiple of 16 (vec.go does the rest).

// func relu512(y, x *float32, n int)
TEXT ·relu512(SB), NOSPLIT, $0-24
	MOVQ    y+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    n+16(FP), CX
	SHRQ    $4, CX
	JZ      reluDone
	VPXORD  Z1, Z1, Z1

reluLoop:
	VMAXPS  (SI), Z1, Z0 // a NaN in x stays NaN
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     reluLoop

reluDone:
	VZEROUPPER
	RET

// func reluGrad512(dx, x, dy *float32, n int)
TEXT ·reluGrad512(SB), NOSPLIT, $0-32
	MOVQ      dx+0(FP), DI
	MOVQ      x+8(FP), SI
	MOVQ      dy+16(FP), DX
	MOVQ      n+24(FP), CX
	SHRQ      $4, CX
	JZ        reluGradDone
	VPXORD    Z1, Z1, Z1

reluGradLoop:
	VMOVUPS   (SI), Z0
	VCMPPS    $0x16, Z1, Z0, K1 // not (x <= 0), as the Go loop has it
	VMOVUPS.Z (DX), K1, Z2
	VMOVUPS   Z2, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DX
	ADDQ      $64, DI
	DECQ      CX
	JNZ       reluGradLoop

reluGradDone:
	VZEROUPPER
	RET

// func add512(y, a, b *float32, n int)
TEXT ·add512(SB), NOSPLIT, $0-32
	MOVQ    y+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    n+24(FP), CX
	SHRQ    $4, CX
	JZ      addDone

addLoop:
	VMOVUPS (SI), Z0
	VADDPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     addLoop

addDone:
	VZEROUPPER
	RET

// func affine512(y, x *float32, n int, a, b float32)
TEXT ·affine512(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Z1
	VBROADCASTSS b+28(FP), Z2
	SHRQ         $4, CX
	JZ           affineDone

affineLoop:
	VMOVUPS      (SI), Z0
	VFMADD213PS  Z2, Z1, Z0 // a*x + b
	VMOVUPS      Z0, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          affineLoop

affineDone:
	VZEROUPPER
	RET

// func affine2512(y, x, d *float32, n int, a, b, c float32)
TEXT ·affine2512(SB), NOSPLIT, $0-44
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         d+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Z1
	VBROADCASTSS b+36(FP), Z2
	VBROADCASTSS c+40(FP), Z3
	SHRQ         $4, CX
	JZ           affine2Done

affine2Loop:
	VMOVUPS      (SI), Z0
	VFMADD213PS  Z3, Z2, Z0 // b*x + c
	VFMADD231PS  (DX), Z1, Z0 // + a*d
	VMOVUPS      Z0, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DX
	ADDQ         $64, DI
	DECQ         CX
	JNZ          affine2Loop

affine2Done:
	VZEROUPPER
	RET

// func sums512(a, b *float32, n int) (sa, sab float64)
TEXT ·sums512(SB), NOSPLIT, $0-40
	MOVQ          a+0(FP), SI
	MOVQ          b+8(FP), DI
	MOVQ          n+16(FP), CX
	VXORPD        Z0, Z0, Z0
	VXORPD        Z1, Z1, Z1
	VXORPD        Z2, Z2, Z2
	VXORPD        Z3, Z3, Z3
	SHRQ          $4, CX
	JZ            sumsReduce

sumsLoop:
	VCVTPS2PD     (SI), Z4
	VCVTPS2PD     32(SI), Z5
	VCVTPS2PD     (DI), Z6
	VCVTPS2PD     32(DI), Z7
	VADDPD        Z4, Z0, Z0
	VADDPD        Z5, Z1, Z1
	VFMADD231PD   Z6, Z4, Z2
	VFMADD231PD   Z7, Z5, Z3
	ADDQ          $64, SI
	ADDQ          $64, DI
	DECQ          CX
	JNZ           sumsLoop

sumsReduce:
	VADDPD        Z1, Z0, Z0
	VADDPD        Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VHADDPD       X0, X0, X0
	VMOVSD        X0, sa+24(FP)
	VEXTRACTF64X4 $1, Z2, Y3
	VADDPD        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VADDPD        X3, X2, X2
	VHADDPD       X2, X2, X2
	VMOVSD        X2, sab+32(FP)
	VZEROUPPER
	RET

// func copyRows512(dst, src *float32, rows, w, dstStride, srcStride int)
//
// Copies rows runs of w floats, the runs dstStride and srcStride floats apart; the
// last partial vector of each run goes through a mask.
TEXT ·copyRows512(SB), NOSPLIT, $0-48
	MOVQ      dst+0(FP), DI
	MOVQ      src+8(FP), SI
	MOVQ      rows+16(FP), DX
	MOVQ      w+24(FP), R8
	MOVQ      dstStride+32(FP), R9
	MOVQ      srcStride+40(FP), R10
	SHLQ      $2, R9
	SHLQ      $2, R10
	MOVQ      R8, CX
	ANDQ      $15, CX
	MOVQ      $1, BX
	SHLQ      CX, BX
	DECQ      BX
	KMOVW     BX, K1 // the tail's lanes
	SHRQ      $4, R8 // whole vectors a run
	TESTQ     DX, DX
	JZ        copyDone

copyRow:
	MOVQ      R8, CX
	XORQ      AX, AX
	TESTQ     CX, CX
	JZ        copyTail

copyVec:
	VMOVUPS   (SI)(AX*1), Z0
	VMOVUPS   Z0, (DI)(AX*1)
	ADDQ      $64, AX
	DECQ      CX
	JNZ       copyVec

copyTail:
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS   Z0, K1, (DI)(AX*1)
	ADDQ      R9, DI
	ADDQ      R10, SI
	DECQ      DX
	JNZ       copyRow

copyDone:
	VZEROUPPER
	RET

// func axpy512(y, x *float32, n int, a float32)
TEXT ·axpy512(SB), NOSPLIT, $0-28
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Z1
	SHRQ         $4, CX
	JZ           axpyDone

axpyLoop:
	VMOVUPS      (DI), Z0
	VFMADD231PS  (SI), Z1, Z0 // y + a*x
	VMOVUPS      Z0, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          axpyLoop

axpyDone:
	VZEROUPPER
	RET

// func dot512(x, y *float32, n int) float32
TEXT ·dot512(SB), NOSPLIT, $0-28
	MOVQ          x+0(FP), SI
	MOVQ          y+8(FP), DI
	MOVQ          n+16(FP), CX
	VPXORD        Z0, Z0, Z0
	SHRQ          $4, CX
	JZ            dotReduce

dotLoop:
	VMOVUPS       (SI), Z2
	VFMADD231PS   (DI), Z2, Z0
	ADDQ          $64, SI
	ADDQ          $64, DI
	DECQ          CX
	JNZ           dotLoop

dotReduce:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VHADDPS       X0, X0, X0
	VHADDPS       X0, X0, X0
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET
