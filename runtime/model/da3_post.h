/*
 * model/da3_post.h: what Depth Anything 3 does after its network
 * (DepthAnything3Net.forward, one view): the camera from the pose encoding,
 * and the large models' sky step.
 */
#ifndef DS_MODEL_DA3_POST_H
#define DS_MODEL_DA3_POST_H

#include <stddef.h>

/* pose_enc = t(3), quaternion x y z w (4, need not be unit), fov_h, fov_w
 * (radians) for a network input of net_w x net_h pixels ->
 *  extrinsics (3x4, row-major): world-to-camera [R^T | -R^T t] of the
 *    camera-to-world [quat_to_mat(q) | t];
 *  intrinsics (3x3, row-major): fx = (W/2) / max(tan(fov_w/2), 1e-6),
 *    fy = (H/2) / max(tan(fov_h/2), 1e-6), cx = W/2, cy = H/2.
 * In float32, operation by operation as transform.py and geometry.py. */
void ds_da3_camera(const float pose_enc[9], int net_w, int net_h, float extrinsics[12], float intrinsics[9]);

/* The sky step: where sky >= 0.3 (NaN counts as sky), depth is set to the
 * 0.99 quantile (torch.quantile, linear) of the other pixels' depth, when
 * both sets hold more than 10 pixels. The official code takes the quantile
 * over 100,000 random samples when there are more non-sky pixels; this one
 * is always exact. Returns the value used, or NAN when nothing changed;
 * -1 after an allocation failure (depth untouched). */
float ds_da3_sky_fill(float *depth, const float *sky, size_t n);

#endif
