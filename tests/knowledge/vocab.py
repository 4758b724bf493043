"""Category lists written out independently of the data files, so coverage tests can fail."""

COCO80 = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

PACO75 = (
    "ball", "basket", "belt", "bench", "bicycle", "blender", "book", "bottle", "bowl", "box", "broom", "bucket",
    "calculator", "can", "car_(automobile)", "carton", "cellular_telephone", "chair", "clock", "crate", "cup",
    "dog", "drill", "drum_(musical_instrument)", "earphone", "fan", "glass_(drink_container)", "guitar",
    "hammer", "handbag", "hat", "helmet", "jar", "kettle", "knife", "ladder", "lamp", "laptop_computer",
    "microwave_oven", "mirror", "mouse_(computer_equipment)", "mug", "napkin", "newspaper", "pan_(for_cooking)",
    "pen", "pencil", "pillow", "pipe", "plastic_bag", "plate", "pliers", "remote_control", "scarf", "scissors",
    "screwdriver", "shoe", "slipper_(footwear)", "soap", "sponge", "spoon", "stool", "sweater", "table",
    "tape_(sticky_cloth_or_paper)", "telephone", "television_set", "tissue_paper", "towel", "trash_can", "tray",
    "vase", "wallet", "watch", "wrench",
)

VOC20 = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
    "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)

TOY_OBJECTS = (
    "mug", "chair", "car", "person", "lamp", "bottle", "table", "tree", "house", "bicycle", "dog", "umbrella",
    "apple", "orange", "banana", "ball",
)

TOY_PARTS = (
    "mug:body", "mug:handle", "chair:seat", "chair:back", "chair:leg", "car:body", "car:wheel", "car:window",
    "person:head", "person:torso", "person:arm", "person:leg", "lamp:base", "lamp:pole", "lamp:shade",
    "bottle:body", "bottle:cap", "table:top", "table:leg", "tree:trunk", "tree:crown", "house:wall",
    "house:roof", "house:door", "house:window", "bicycle:frame", "bicycle:wheel", "bicycle:seat", "dog:head",
    "dog:body", "dog:leg", "dog:tail", "umbrella:canopy", "umbrella:handle",
)

#: Part names seen in the Pascal-Part fixtures of shared/data/pascal_part (object class, part).
PASCAL_FIXTURE_PARTS = (
    ("person", "head"), ("person", "lear"), ("person", "rear"), ("person", "leye"), ("person", "reye"),
    ("person", "mouth"), ("person", "nose"), ("person", "torso"), ("person", "neck"), ("person", "llarm"),
    ("person", "luarm"), ("person", "lhand"), ("person", "rlarm"), ("person", "ruarm"), ("person", "rhand"),
    ("person", "lfoot"), ("person", "rlleg"), ("person", "ruleg"), ("bird", "torso"), ("cat", "head"),
    ("cat", "lear"), ("cat", "rear"), ("cat", "leye"), ("cat", "reye"), ("cat", "nose"), ("cat", "torso"),
    ("cat", "lfleg"), ("cat", "lfpa"), ("aeroplane", "body"), ("aeroplane", "lwing"), ("aeroplane", "rwing"),
    ("aeroplane", "engine_1"), ("aeroplane", "engine_2"), ("aeroplane", "wheel_1"), ("aeroplane", "wheel_5"),
    ("aeroplane", "stern"), ("aeroplane", "tail"),
)
