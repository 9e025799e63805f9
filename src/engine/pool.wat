;; engine/pool.wat — MaxPoolGrad for the 2x2 stride-2 window (NHWC, float32), 128-bit SIMD.
;;
;; Runs on the tfjs wasm backend's own memory (imported). One call handles one output row
;; (n, oh): for each window and each group of 4 channels, the gradient dy goes to the first
;; position in window order (top-left, top-right, bottom-left, bottom-right) whose x equals the
;; forward output y (the window maximum), exactly the 'cpu' backend's first-maximum rule; the
;; other three positions get +0. Masks, not branches: dx = dy AND (x == y AND no earlier match).
;; Windows do not overlap, so dx is written, not accumulated.
;; Arguments are byte offsets/lengths: $x, $dx point at the window row's first element; $cb is
;; C*4 (a multiple of 16); $step = 2*C*4 (next window); $wcb = W*C*4 (next input row).
;; Assemble with `node scripts/build-wasm.mjs` (writes pool-wasm.ts).
(module
  (import "env" "memory" (memory 1))
  (func (export "maxPoolGrad2x2Row")
    (param $x i32) (param $dx i32) (param $y i32) (param $dy i32)
    (param $ow i32) (param $cb i32) (param $step i32) (param $wcb i32)
    (local $j i32) (local $i i32) (local $xa i32) (local $da i32)
    (local $mx v128) (local $g v128) (local $ma v128) (local $mb v128) (local $mc v128) (local $me v128)
    (local $seen v128)
    (local.set $j (i32.const 0))
    (block $rowDone
      (loop $windows
        (br_if $rowDone (i32.ge_u (local.get $j) (local.get $ow)))
        (local.set $i (i32.const 0))
        (block $winDone
          (loop $lanes
            (br_if $winDone (i32.ge_u (local.get $i) (local.get $cb)))
            (local.set $xa (i32.add (local.get $x) (local.get $i)))
            (local.set $da (i32.add (local.get $dx) (local.get $i)))
            (local.set $mx (v128.load align=4 (local.get $y)))
            (local.set $g (v128.load align=4 (local.get $dy)))
            (local.set $ma (f32x4.eq (v128.load align=4 (local.get $xa)) (local.get $mx)))
            (local.set $mb
              (v128.andnot
                (f32x4.eq (v128.load align=4 (i32.add (local.get $xa) (local.get $cb))) (local.get $mx))
                (local.get $ma)))
            (local.set $seen (v128.or (local.get $ma) (local.get $mb)))
            (local.set $mc
              (v128.andnot
                (f32x4.eq (v128.load align=4 (i32.add (local.get $xa) (local.get $wcb))) (local.get $mx))
                (local.get $seen)))
            (local.set $seen (v128.or (local.get $seen) (local.get $mc)))
            (local.set $me
              (v128.andnot
                (f32x4.eq
                  (v128.load align=4 (i32.add (i32.add (local.get $xa) (local.get $wcb)) (local.get $cb)))
                  (local.get $mx))
                (local.get $seen)))
            (v128.store align=4 (local.get $da) (v128.and (local.get $g) (local.get $ma)))
            (v128.store align=4 (i32.add (local.get $da) (local.get $cb)) (v128.and (local.get $g) (local.get $mb)))
            (v128.store align=4 (i32.add (local.get $da) (local.get $wcb)) (v128.and (local.get $g) (local.get $mc)))
            (v128.store align=4
              (i32.add (i32.add (local.get $da) (local.get $wcb)) (local.get $cb))
              (v128.and (local.get $g) (local.get $me)))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $lanes)))
        (local.set $x (i32.add (local.get $x) (local.get $step)))
        (local.set $dx (i32.add (local.get $dx) (local.get $step)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $windows)))))
