//go:build !purego

#include "textflag.h"

// The AVX2 + FMA forms of vec_amd64.s's loops, for x86 CPUs without AVX-512: the
// same operations in the same order, on vectors of 8 floats; n is a multiple of 16.

// func relu256(y, x *float32, n int)
TEXT ·relu256(SB), NOSPLIT, $0-24
	MOVQ    y+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    n+16(FP), CX
	SHRQ    $3, CX
	JZ      relu256Done
	VXORPS  Y1, Y1, Y1

relu256Loop:
	VMAXPS  (SI), Y1, Y0 // max(0, x): x when it is NaN
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     relu256Loop

relu256Done:
	VZEROUPPER
	RET

// func reluGrad256(dx, x, dy *float32, n int)
TEXT ·reluGrad256(SB), NOSPLIT, $0-32
	MOVQ    dx+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    dy+16(FP), DX
	MOVQ    n+24(FP), CX
	SHRQ    $3, CX
	JZ      reluGrad256Done
	VXORPS  Y1, Y1, Y1

reluGrad256Loop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x16, Y1, Y0, Y0 // not (x <= 0), as the Go loop has it: all ones or zero
	VANDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     reluGrad256Loop

reluGrad256Done:
	VZEROUPPER
	RET

// func add256(y, a, b *float32, n int)
TEXT ·add256(SB), NOSPLIT, $0-32
	MOVQ    y+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    n+24(FP), CX
	SHRQ    $3, CX
	JZ      add256Done

add256Loop:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     add256Loop

add256Done:
	VZEROUPPER
	RET

// func affine256(y, x *float32, n int, a, b float32)
TEXT ·affine256(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y1
	VBROADCASTSS b+28(FP), Y2
	SHRQ         $3, CX
	JZ           affine256Done

affine256Loop:
	VMOVUPS      (SI), Y0
	VFMADD213PS  Y2, Y1, Y0 // a*x + b
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          affine256Loop

affine256Done:
	VZEROUPPER
	RET

// func affine2256(y, x, d *float32, n int, a, b, c float32)
TEXT ·affine2256(SB), NOSPLIT, $0-44
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         d+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Y1
	VBROADCASTSS b+36(FP), Y2
	VBROADCASTSS c+40(FP), Y3
	SHRQ         $3, CX
	JZ           affine2256Done

affine2256Loop:
	VMOVUPS      (SI), Y0
	VFMADD213PS  Y3, Y2, Y0 // b*x + c
	VFMADD231PS  (DX), Y1, Y0 // + a*d
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	DECQ         CX
	JNZ          affine2256Loop

affine2256Done:
	VZEROUPPER
	RET

// func sums256(a, b *float32, n int) (sa, sab float64)
TEXT ·sums256(SB), NOSPLIT, $0-40
	MOVQ         a+0(FP), SI
	MOVQ         b+8(FP), DI
	MOVQ         n+16(FP), CX
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	SHRQ         $3, CX
	JZ           sums256Reduce

sums256Loop:
	VCVTPS2PD    (SI), Y4
	VCVTPS2PD    16(SI), Y5
	VCVTPS2PD    (DI), Y6
	VCVTPS2PD    16(DI), Y7
	VADDPD       Y4, Y0, Y0
	VADDPD       Y5, Y1, Y1
	VFMADD231PD  Y6, Y4, Y2
	VFMADD231PD  Y7, Y5, Y3
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          sums256Loop

sums256Reduce:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VMOVSD       X0, sa+24(FP)
	VEXTRACTF128 $1, Y2, X3
	VADDPD       X3, X2, X2
	VHADDPD      X2, X2, X2
	VMOVSD       X2, sab+32(FP)
	VZEROUPPER
	RET

// func axpy256(y, x *float32, n int, a float32)
TEXT ·axpy256(SB), NOSPLIT, $0-28
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y1
	SHRQ         $3, CX
	JZ           axpy256Done

axpy256Loop:
	VMOVUPS      (DI), Y0
	VFMADD231PS  (SI), Y1, Y0 // y + a*x
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          axpy256Loop

axpy256Done:
	VZEROUPPER
	RET

// func dot256(x, y *float32, n int) float32
TEXT ·dot256(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VXORPS       Y0, Y0, Y0
	SHRQ         $3, CX
	JZ           dot256Reduce

dot256Loop:
	VMOVUPS      (SI), Y2
	VFMADD231PS  (DI), Y2, Y0
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          dot256Loop

dot256Reduce:
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET
