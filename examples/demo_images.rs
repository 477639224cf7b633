//! Draws the demo catalog's product pictures into `src/demo/images/{slug}.jpg`, which the
//! binary ships (`serve --demo` uploads them through the same pipeline as staff do).
//! Flat illustrations, each a silhouette of its kind of product in its colour on its
//! category's backdrop: no photographs to license, and small enough to embed.
//!
//!     cargo run --example demo_images

use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};

/// Drawn at twice the size and scaled down, which smooths the edges.
const WIDTH: u32 = 800;
const HEIGHT: u32 = 600;
const SCALE: f32 = 2.0;

#[derive(Clone, Copy)]
enum Shape {
    Mug,
    Pan,
    Board,
    Cloth,
    Jug,
    Bowl,
    Bag,
    Stool,
    Lantern,
    Utensil,
    Bottle,
    Candle,
    Pot,
    Mat,
    Rail,
    Basket,
    Beanie,
    Shirt,
    Sock,
    Glove,
    Hat,
    Apron,
    Blade,
    Shears,
    Can,
    Bed,
    Hatchet,
}

/// Each product: its slug, its kind, its colour, and its first category's backdrop.
const PRODUCTS: [(&str, Shape, [u8; 3], [u8; 3]); 30] = [
    ("enamel-camp-mug", Shape::Mug, [246, 246, 240], KITCHEN),
    ("cast-iron-skillet", Shape::Pan, [52, 52, 56], KITCHEN),
    ("olivewood-serving-board", Shape::Board, [176, 132, 84], KITCHEN),
    ("linen-tea-towel-set", Shape::Cloth, [214, 200, 176], KITCHEN),
    ("stainless-french-press", Shape::Jug, [190, 196, 204], KITCHEN),
    ("stoneware-mixing-bowl", Shape::Bowl, [120, 150, 170], KITCHEN),
    ("down-camp-blanket", Shape::Cloth, [112, 122, 70], CAMP),
    ("waxed-canvas-rucksack", Shape::Bag, [176, 140, 96], CAMP),
    ("folding-camp-stool", Shape::Stool, [96, 110, 80], CAMP),
    ("led-lantern", Shape::Lantern, [40, 60, 50], CAMP),
    ("titanium-spork", Shape::Utensil, [150, 156, 170], CAMP),
    ("insulated-water-bottle", Shape::Bottle, [196, 178, 140], CAMP),
    ("wool-throw-blanket", Shape::Cloth, [150, 150, 150], HOME),
    ("beeswax-pillar-candle", Shape::Candle, [238, 200, 110], HOME),
    ("ceramic-plant-pot", Shape::Pot, [200, 110, 80], HOME),
    ("jute-doormat", Shape::Mat, [190, 156, 100], HOME),
    ("oak-wall-hook-rail", Shape::Rail, [196, 160, 110], HOME),
    ("hemp-laundry-basket", Shape::Basket, [200, 180, 140], HOME),
    ("merino-beanie", Shape::Beanie, [70, 72, 78], APPAREL),
    ("flannel-overshirt", Shape::Shirt, [170, 50, 50], APPAREL),
    ("wool-hiking-socks", Shape::Sock, [110, 120, 100], APPAREL),
    ("leather-work-gloves", Shape::Glove, [170, 120, 70], APPAREL),
    ("waxed-cotton-bucket-hat", Shape::Hat, [90, 100, 70], APPAREL),
    ("canvas-work-apron", Shape::Apron, [90, 90, 110], APPAREL),
    ("hori-hori-garden-knife", Shape::Blade, [180, 184, 190], GARDEN),
    ("bypass-pruning-shears", Shape::Shears, [190, 60, 50], GARDEN),
    ("galvanised-watering-can", Shape::Can, [170, 176, 180], GARDEN),
    ("ash-handle-hand-trowel", Shape::Utensil, [200, 170, 120], GARDEN),
    ("cedar-raised-bed-kit", Shape::Bed, [170, 110, 70], GARDEN),
    ("hand-forged-hatchet", Shape::Hatchet, [120, 90, 60], GARDEN),
];

const KITCHEN: [u8; 3] = [250, 232, 214];
const CAMP: [u8; 3] = [218, 232, 214];
const HOME: [u8; 3] = [236, 226, 240];
const APPAREL: [u8; 3] = [220, 230, 244];
const GARDEN: [u8; 3] = [226, 240, 220];

/// A canvas in the illustration's own units (800 × 600), drawn at `SCALE`.
struct Canvas(RgbImage);

impl Canvas {
    fn new(backdrop: [u8; 3]) -> Canvas {
        let (w, h) = ((WIDTH as f32 * SCALE) as u32, (HEIGHT as f32 * SCALE) as u32);
        // A soft light from above: the backdrop, lighter at the top.
        Canvas(RgbImage::from_fn(w, h, |_, y| {
            let t = y as f32 / h as f32;
            Rgb(backdrop.map(|c| mix(255, c, 0.35 + 0.65 * t)))
        }))
    }

    /// Paints every pixel whose centre (in illustration units) `inside` holds.
    fn fill(&mut self, colour: [u8; 3], inside: impl Fn(f32, f32) -> bool) {
        for (x, y, pixel) in self.0.enumerate_pixels_mut() {
            if inside((x as f32 + 0.5) / SCALE, (y as f32 + 0.5) / SCALE) {
                *pixel = Rgb(colour);
            }
        }
    }

    fn ellipse(&mut self, colour: [u8; 3], (cx, cy): (f32, f32), (rx, ry): (f32, f32)) {
        self.fill(colour, |x, y| ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0);
    }

    fn rect(&mut self, colour: [u8; 3], (x0, y0): (f32, f32), (x1, y1): (f32, f32), radius: f32) {
        self.fill(colour, |x, y| {
            let dx = (x0 + radius - x).max(x - (x1 - radius)).max(0.0);
            let dy = (y0 + radius - y).max(y - (y1 - radius)).max(0.0);
            x >= x0 && x <= x1 && y >= y0 && y <= y1 && dx * dx + dy * dy <= radius * radius
        });
    }

    fn polygon(&mut self, colour: [u8; 3], points: &[(f32, f32)]) {
        self.fill(colour, |x, y| {
            let mut inside = false;
            let mut j = points.len() - 1;
            for i in 0..points.len() {
                let ((xi, yi), (xj, yj)) = (points[i], points[j]);
                if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
                j = i;
            }
            inside
        });
    }

    fn ring(&mut self, colour: [u8; 3], centre: (f32, f32), outer: (f32, f32), width: f32) {
        let (cx, cy) = centre;
        self.fill(colour, |x, y| {
            let at = |rx: f32, ry: f32| ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2);
            at(outer.0, outer.1) <= 1.0 && at(outer.0 - width, outer.1 - width) > 1.0
        });
    }

    fn line(&mut self, colour: [u8; 3], (x0, y0): (f32, f32), (x1, y1): (f32, f32), width: f32) {
        let (dx, dy) = (x1 - x0, y1 - y0);
        let length2 = dx * dx + dy * dy;
        self.fill(colour, |x, y| {
            let t = (((x - x0) * dx + (y - y0) * dy) / length2).clamp(0.0, 1.0);
            let (px, py) = (x0 + t * dx - x, y0 + t * dy - y);
            px * px + py * py <= width * width / 4.0
        });
    }

    fn finish(self) -> Vec<u8> {
        let small = DynamicImage::ImageRgb8(self.0).resize_exact(WIDTH, HEIGHT, FilterType::Lanczos3);
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
            .encode_image(&small)
            .expect("encode");
        out
    }
}

fn mix(a: u8, b: u8, t: f32) -> u8 {
    (f32::from(a) * (1.0 - t) + f32::from(b) * t).round() as u8
}

fn shade(colour: [u8; 3], by: f32) -> [u8; 3] {
    colour.map(|c| mix(c, 0, by))
}

fn light(colour: [u8; 3], by: f32) -> [u8; 3] {
    colour.map(|c| mix(c, 255, by))
}

fn draw(shape: Shape, colour: [u8; 3], backdrop: [u8; 3]) -> Vec<u8> {
    let mut c = Canvas::new(backdrop);
    let dark = shade(colour, 0.35);
    let lit = light(colour, 0.35);
    let wood = [160, 120, 78];
    let steel = [176, 182, 190];
    // The shadow it stands on.
    c.ellipse(shade(backdrop, 0.18), (400.0, 505.0), (230.0, 28.0));
    match shape {
        Shape::Mug => {
            c.ring(dark, (505.0, 330.0), (80.0, 90.0), 26.0);
            c.rect(colour, (255.0, 210.0), (505.0, 500.0), 24.0);
            c.rect(dark, (255.0, 200.0), (505.0, 228.0), 12.0);
            c.rect(lit, (285.0, 250.0), (305.0, 460.0), 10.0);
        }
        Shape::Pan => {
            c.line(dark, (560.0, 380.0), (760.0, 300.0), 34.0);
            c.ellipse(dark, (380.0, 400.0), (220.0, 110.0));
            c.ellipse(colour, (380.0, 385.0), (190.0, 85.0));
            c.ellipse(lit, (330.0, 370.0), (60.0, 18.0));
        }
        Shape::Board => {
            c.rect(colour, (170.0, 250.0), (560.0, 470.0), 60.0);
            c.rect(colour, (540.0, 320.0), (690.0, 400.0), 36.0);
            c.ellipse(backdrop, (655.0, 360.0), (16.0, 16.0));
            for k in 0..5 {
                let y = 280.0 + 40.0 * k as f32;
                c.line(shade(colour, 0.15), (210.0, y), (520.0, y + 12.0), 5.0);
            }
        }
        Shape::Cloth => {
            for k in 0..3 {
                let y = 400.0 - 70.0 * k as f32;
                let tone = if k % 2 == 0 { colour } else { light(colour, 0.2) };
                c.rect(
                    tone,
                    (190.0 + 12.0 * k as f32, y - 70.0),
                    (610.0 - 12.0 * k as f32, y + 80.0),
                    18.0,
                );
                c.rect(
                    dark,
                    (190.0 + 12.0 * k as f32, y + 40.0),
                    (610.0 - 12.0 * k as f32, y + 52.0),
                    0.0,
                );
            }
        }
        Shape::Jug => {
            c.ring(dark, (520.0, 330.0), (70.0, 110.0), 22.0);
            c.rect(colour, (300.0, 190.0), (500.0, 490.0), 20.0);
            c.rect(dark, (290.0, 160.0), (510.0, 195.0), 10.0);
            c.line(dark, (400.0, 160.0), (400.0, 100.0), 14.0);
            c.ellipse(dark, (400.0, 95.0), (24.0, 14.0));
            c.rect(lit, (325.0, 220.0), (345.0, 460.0), 10.0);
        }
        Shape::Bowl => {
            c.fill(colour, |x, y| {
                y >= 300.0 && ((x - 400.0) / 230.0).powi(2) + ((y - 300.0) / 190.0).powi(2) <= 1.0
            });
            c.ellipse(dark, (400.0, 300.0), (230.0, 48.0));
            c.ellipse(shade(colour, 0.55), (400.0, 304.0), (205.0, 36.0));
            c.ellipse(lit, (300.0, 380.0), (30.0, 50.0));
        }
        Shape::Bag => {
            c.ring(dark, (400.0, 175.0), (70.0, 60.0), 18.0);
            c.rect(colour, (250.0, 170.0), (550.0, 500.0), 50.0);
            c.rect(dark, (250.0, 170.0), (550.0, 300.0), 50.0);
            c.rect([90, 70, 50], (380.0, 280.0), (420.0, 340.0), 6.0);
            c.rect(shade(colour, 0.15), (290.0, 370.0), (510.0, 470.0), 20.0);
        }
        Shape::Stool => {
            c.line(wood, (290.0, 500.0), (510.0, 260.0), 24.0);
            c.line(wood, (510.0, 500.0), (290.0, 260.0), 24.0);
            c.rect(colour, (250.0, 220.0), (550.0, 270.0), 14.0);
        }
        Shape::Lantern => {
            c.ring(dark, (400.0, 150.0), (60.0, 50.0), 14.0);
            c.rect(dark, (300.0, 170.0), (500.0, 215.0), 12.0);
            c.rect([255, 236, 170], (320.0, 215.0), (480.0, 445.0), 8.0);
            c.ellipse([255, 250, 220], (400.0, 330.0), (45.0, 70.0));
            for x in [320.0, 400.0, 480.0] {
                c.line(dark, (x, 215.0), (x, 445.0), 12.0);
            }
            c.rect(dark, (290.0, 445.0), (510.0, 495.0), 12.0);
        }
        Shape::Utensil => {
            c.line(
                if matches!(colour, [200, 170, 120]) {
                    wood
                } else {
                    colour
                },
                (250.0, 460.0),
                (470.0, 260.0),
                34.0,
            );
            c.ellipse(
                if matches!(colour, [200, 170, 120]) {
                    steel
                } else {
                    colour
                },
                (540.0, 200.0),
                (80.0, 110.0),
            );
            c.ellipse(lit, (525.0, 185.0), (30.0, 50.0));
        }
        Shape::Bottle => {
            c.rect(colour, (320.0, 190.0), (480.0, 500.0), 50.0);
            c.rect(dark, (350.0, 120.0), (450.0, 200.0), 16.0);
            c.rect(shade(colour, 0.15), (320.0, 300.0), (480.0, 330.0), 0.0);
            c.rect(lit, (345.0, 220.0), (362.0, 470.0), 8.0);
        }
        Shape::Candle => {
            c.rect(colour, (320.0, 230.0), (480.0, 500.0), 16.0);
            c.ellipse(light(colour, 0.25), (400.0, 232.0), (80.0, 16.0));
            c.line([60, 50, 40], (400.0, 232.0), (400.0, 200.0), 5.0);
            c.ellipse([255, 170, 40], (400.0, 175.0), (16.0, 34.0));
            c.ellipse([255, 236, 150], (400.0, 183.0), (7.0, 16.0));
        }
        Shape::Pot => {
            for (angle, length) in [(-0.6_f32, 160.0_f32), (0.0, 190.0), (0.55, 150.0)] {
                let tip = (400.0 + length * angle.sin(), 290.0 - length * angle.cos());
                c.line([70, 130, 70], (400.0, 290.0), tip, 12.0);
                c.ellipse([90, 160, 80], tip, (34.0, 34.0));
            }
            c.polygon(
                colour,
                &[(270.0, 290.0), (530.0, 290.0), (495.0, 500.0), (305.0, 500.0)],
            );
            c.rect(dark, (258.0, 280.0), (542.0, 318.0), 8.0);
        }
        Shape::Mat => {
            c.polygon(
                colour,
                &[(180.0, 470.0), (620.0, 470.0), (560.0, 300.0), (240.0, 300.0)],
            );
            c.polygon(dark, &[(215.0, 452.0), (585.0, 452.0), (540.0, 318.0), (260.0, 318.0)]);
            c.polygon(
                colour,
                &[(235.0, 440.0), (565.0, 440.0), (528.0, 330.0), (272.0, 330.0)],
            );
        }
        Shape::Rail => {
            c.rect(colour, (150.0, 230.0), (650.0, 300.0), 10.0);
            for x in [220.0, 340.0, 460.0, 580.0] {
                c.line([60, 60, 64], (x, 300.0), (x, 380.0), 16.0);
                c.line([60, 60, 64], (x, 380.0), (x + 34.0, 350.0), 16.0);
            }
        }
        Shape::Basket => {
            c.polygon(
                colour,
                &[(250.0, 230.0), (550.0, 230.0), (510.0, 500.0), (290.0, 500.0)],
            );
            for k in 0..6 {
                let y = 262.0 + 44.0 * k as f32;
                c.line(
                    shade(colour, 0.2),
                    (250.0 + 6.0 * k as f32, y),
                    (550.0 - 6.0 * k as f32, y),
                    6.0,
                );
            }
            c.ring(dark, (400.0, 232.0), (150.0, 22.0), 10.0);
        }
        Shape::Beanie => {
            c.fill(colour, |x, y| {
                y <= 420.0 && ((x - 400.0) / 170.0).powi(2) + ((y - 420.0) / 220.0).powi(2) <= 1.0
            });
            c.rect(dark, (225.0, 390.0), (575.0, 480.0), 18.0);
            c.ellipse(light(colour, 0.2), (400.0, 190.0), (40.0, 40.0));
            for x in [270.0, 330.0, 390.0, 450.0, 510.0] {
                c.line(shade(colour, 0.5), (x + 10.0, 400.0), (x + 10.0, 470.0), 6.0);
            }
        }
        Shape::Shirt => {
            c.polygon(
                colour,
                &[
                    (330.0, 150.0),
                    (470.0, 150.0),
                    (600.0, 210.0),
                    (650.0, 330.0),
                    (580.0, 350.0),
                    (550.0, 290.0),
                    (550.0, 500.0),
                    (250.0, 500.0),
                    (250.0, 290.0),
                    (220.0, 350.0),
                    (150.0, 330.0),
                    (200.0, 210.0),
                ],
            );
            for k in 0..7 {
                let x = 270.0 + 45.0 * k as f32;
                c.line(dark, (x, 200.0), (x, 500.0), 8.0);
            }
            for k in 0..6 {
                let y = 215.0 + 50.0 * k as f32;
                c.line(dark, (250.0, y), (550.0, y), 8.0);
            }
            c.polygon(lit, &[(330.0, 150.0), (470.0, 150.0), (400.0, 230.0)]);
        }
        Shape::Sock => {
            c.polygon(
                colour,
                &[
                    (330.0, 140.0),
                    (450.0, 140.0),
                    (450.0, 380.0),
                    (560.0, 420.0),
                    (560.0, 500.0),
                    (330.0, 500.0),
                ],
            );
            c.rect(dark, (330.0, 140.0), (450.0, 195.0), 6.0);
            c.ellipse(dark, (525.0, 460.0), (40.0, 40.0));
        }
        Shape::Glove => {
            c.rect(colour, (300.0, 260.0), (500.0, 500.0), 40.0);
            for (k, height) in [(0, 150.0), (1, 120.0), (2, 130.0), (3, 160.0)] {
                let x = 315.0 + 46.0 * f32::from(k as u8);
                c.rect(colour, (x, height), (x + 38.0, 300.0), 19.0);
            }
            c.line(colour, (310.0, 380.0), (220.0, 270.0), 46.0);
            c.rect(dark, (300.0, 440.0), (500.0, 500.0), 20.0);
        }
        Shape::Hat => {
            c.ellipse(dark, (400.0, 420.0), (250.0, 60.0));
            c.polygon(
                colour,
                &[(270.0, 420.0), (530.0, 420.0), (490.0, 230.0), (310.0, 230.0)],
            );
            c.ellipse(colour, (400.0, 232.0), (90.0, 22.0));
            c.rect(shade(colour, 0.5), (283.0, 360.0), (517.0, 392.0), 0.0);
        }
        Shape::Apron => {
            c.ring(dark, (400.0, 150.0), (80.0, 60.0), 12.0);
            c.polygon(
                colour,
                &[
                    (320.0, 160.0),
                    (480.0, 160.0),
                    (500.0, 270.0),
                    (560.0, 300.0),
                    (540.0, 510.0),
                    (260.0, 510.0),
                    (240.0, 300.0),
                    (300.0, 270.0),
                ],
            );
            c.rect(dark, (320.0, 360.0), (480.0, 440.0), 8.0);
            c.line(dark, (400.0, 360.0), (400.0, 440.0), 5.0);
        }
        Shape::Blade => {
            c.line(wood, (230.0, 460.0), (380.0, 340.0), 44.0);
            c.polygon(
                colour,
                &[(370.0, 330.0), (400.0, 360.0), (640.0, 150.0), (600.0, 140.0)],
            );
            c.line(dark, (395.0, 345.0), (615.0, 152.0), 4.0);
        }
        Shape::Shears => {
            c.line(colour, (260.0, 480.0), (400.0, 320.0), 40.0);
            c.line(colour, (220.0, 400.0), (400.0, 320.0), 40.0);
            c.polygon(steel, &[(390.0, 310.0), (420.0, 340.0), (600.0, 170.0), (570.0, 160.0)]);
            c.polygon(
                shade(steel, 0.2),
                &[(380.0, 330.0), (400.0, 350.0), (620.0, 230.0), (600.0, 210.0)],
            );
            c.ellipse(dark, (400.0, 330.0), (14.0, 14.0));
        }
        Shape::Can => {
            c.line(colour, (540.0, 340.0), (690.0, 220.0), 30.0);
            c.ellipse(dark, (700.0, 212.0), (26.0, 26.0));
            c.ring(colour, (400.0, 230.0), (110.0, 70.0), 22.0);
            c.rect(colour, (250.0, 240.0), (550.0, 500.0), 30.0);
            c.rect(lit, (280.0, 270.0), (300.0, 470.0), 10.0);
            c.rect(shade(colour, 0.2), (250.0, 330.0), (550.0, 345.0), 0.0);
        }
        Shape::Bed => {
            c.polygon(
                [120, 90, 60],
                &[(160.0, 420.0), (640.0, 420.0), (580.0, 330.0), (220.0, 330.0)],
            );
            c.polygon(
                colour,
                &[(150.0, 420.0), (650.0, 420.0), (650.0, 500.0), (150.0, 500.0)],
            );
            c.line(dark, (150.0, 460.0), (650.0, 460.0), 6.0);
            for x in [240.0, 330.0, 420.0, 510.0] {
                c.line([90, 160, 80], (x, 380.0), (x - 20.0, 300.0), 10.0);
                c.ellipse([90, 160, 80], (x - 22.0, 295.0), (22.0, 16.0));
            }
        }
        Shape::Hatchet => {
            c.line(wood, (260.0, 500.0), (470.0, 170.0), 34.0);
            c.polygon(
                steel,
                &[
                    (430.0, 150.0),
                    (520.0, 190.0),
                    (610.0, 150.0),
                    (640.0, 300.0),
                    (560.0, 270.0),
                    (460.0, 260.0),
                ],
            );
            c.line(light(steel, 0.5), (612.0, 158.0), (638.0, 290.0), 6.0);
        }
    }
    c.finish()
}

fn main() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/demo/images");
    std::fs::create_dir_all(&folder).expect("create the images folder");
    for (slug, shape, colour, backdrop) in PRODUCTS {
        let bytes = draw(shape, colour, backdrop);
        std::fs::write(folder.join(format!("{slug}.jpg")), &bytes).expect("write an image");
        println!("{slug}.jpg: {} KB", bytes.len() / 1024);
    }
}
