;; engine/adam.wat — one Adam step over a float32 parameter block, with 128-bit SIMD.
;;
;; It runs on the tfjs wasm backend's own memory (imported), so the variable, its gradient and
;; the two moment buffers are updated where they live: no copies, four lanes per instruction.
;; Arguments are byte offsets into that memory. Same arithmetic as tfjs's Adam:
;;   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
;;   w = w - step * m / (sqrt(v) * irc2 + eps),  step = lr / (1 - b1^t),  irc2 = 1 / sqrt(1 - b2^t)
;; Assemble with `node scripts/build-wasm.mjs` (writes adam-wasm.ts).
(module
  (import "env" "memory" (memory 1))
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $step f32) (param $irc2 f32) (param $eps f32)
    (local $i i32) (local $end i32) (local $tail i32)
    (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128)
    (local $vstep v128) (local $virc2 v128) (local $veps v128)
    (local $gi v128) (local $mi v128) (local $vi v128)
    (local $sg f32) (local $sm f32) (local $sv f32)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vc1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $vstep (f32x4.splat (local.get $step)))
    (local.set $virc2 (f32x4.splat (local.get $irc2)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    ;; byte offsets: SIMD part covers the first (n & ~3) floats, the scalar tail the rest
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $tail (i32.shl (local.get $n) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $simd
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gi (v128.load align=4 (i32.add (local.get $g) (local.get $i))))
        (local.set $mi
          (f32x4.add
            (f32x4.mul (local.get $vb1) (v128.load align=4 (i32.add (local.get $m) (local.get $i))))
            (f32x4.mul (local.get $vc1) (local.get $gi))))
        (local.set $vi
          (f32x4.add
            (f32x4.mul (local.get $vb2) (v128.load align=4 (i32.add (local.get $v) (local.get $i))))
            (f32x4.mul (local.get $vc2) (f32x4.mul (local.get $gi) (local.get $gi)))))
        (v128.store align=4 (i32.add (local.get $m) (local.get $i)) (local.get $mi))
        (v128.store align=4 (i32.add (local.get $v) (local.get $i)) (local.get $vi))
        (v128.store align=4 (i32.add (local.get $w) (local.get $i))
          (f32x4.sub
            (v128.load align=4 (i32.add (local.get $w) (local.get $i)))
            (f32x4.div
              (f32x4.mul (local.get $vstep) (local.get $mi))
              (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vi)) (local.get $virc2)) (local.get $veps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $simd)))
    (block $tdone
      (loop $scalar
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $tail)))
        (local.set $sg (f32.load (i32.add (local.get $g) (local.get $i))))
        (local.set $sm
          (f32.add
            (f32.mul (local.get $b1) (f32.load (i32.add (local.get $m) (local.get $i))))
            (f32.mul (f32.sub (f32.const 1) (local.get $b1)) (local.get $sg))))
        (local.set $sv
          (f32.add
            (f32.mul (local.get $b2) (f32.load (i32.add (local.get $v) (local.get $i))))
            (f32.mul (f32.sub (f32.const 1) (local.get $b2)) (f32.mul (local.get $sg) (local.get $sg)))))
        (f32.store (i32.add (local.get $m) (local.get $i)) (local.get $sm))
        (f32.store (i32.add (local.get $v) (local.get $i)) (local.get $sv))
        (f32.store (i32.add (local.get $w) (local.get $i))
          (f32.sub
            (f32.load (i32.add (local.get $w) (local.get $i)))
            (f32.div
              (f32.mul (local.get $step) (local.get $sm))
              (f32.add (f32.mul (f32.sqrt (local.get $sv)) (local.get $irc2)) (local.get $eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $scalar)))))
