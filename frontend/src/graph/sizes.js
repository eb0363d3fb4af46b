// Sizes shared by the layout and the drawing, in graph units (pixels at zoom 1).
export const NODE_W = 210;
export const NODE_H = 56;
export const GROUP_PAD = 20;
export const GROUP_HEAD = 30;
